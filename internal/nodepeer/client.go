package nodepeer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"socklab/internal/proctest"
)

// ClientOptions are sio-client.js's flags. The zero value is socket.io's
// defaults: namespace "/", long-polling first, reconnection on.
type ClientOptions struct {
	// Transports to use: {"websocket"}, or nil for socket.io's default,
	// long-polling first and then the upgrade.
	Transports []string
	// Auth is sent in CONNECT, marshalled as a JSON object
	// (map[string]string{"name": "ann"}); nil sends none.
	Auth any
	// Namespace to join; "" is "/".
	Namespace string
	// Path is Engine.IO's path; "" is socket.io's /socket.io.
	Path string
	// The reconnection back-off; 0 keeps socket.io's 1 s and 5 s. Tests
	// that restart a server want them short.
	ReconnectionDelay, ReconnectionDelayMax time.Duration
	// NoReconnection turns reconnection off (socket.io's default is on).
	NoReconnection bool
	// ConnectTimeout bounds one connection attempt; 0 keeps socket.io's 20 s.
	ConnectTimeout time.Duration
}

// Line is one line sio-client.js printed: one thing that happened. Which
// fields are set depends on Type (peers/node/sio-client.js lists them).
type Line struct {
	Index int    // its place among the client's lines, from 0
	Raw   string // the line as printed

	Type        string            // connect, connect_error, event, ack, ack_timeout, disconnect, reconnect_attempt, reconnect, reconnect_error, reconnect_failed, upgrade, error
	SID         string            // connect: socket.id
	Transport   string            // connect, upgrade: "polling" or "websocket"
	Message     string            // connect_error, reconnect_error, error
	Description string            // connect_error: the transport's own error, when there is one
	Data        json.RawMessage   // connect_error: the server's data, if any
	Event       string            // event: its name
	Args        []json.RawMessage // event, ack: the arguments, each as the JSON Node printed
	AckID       int               // ack, ack_timeout: the id the emit command carried
	Reply       int               // event: not 0 when the server asked for an ack; answer with Command{Reply: n}
	Reason      string            // disconnect
	N           int               // reconnect_attempt, reconnect: the attempt's number
}

// lineJSON is a Line as printed. "id" is socket.id (a string) in a
// connect line and the command's number in an ack line.
type lineJSON struct {
	Type        string            `json:"type"`
	ID          json.RawMessage   `json:"id"`
	Transport   string            `json:"transport"`
	Message     string            `json:"message"`
	Description string            `json:"description"`
	Data        json.RawMessage   `json:"data"`
	Event       string            `json:"event"`
	Args        []json.RawMessage `json:"args"`
	Reply       int               `json:"reply"`
	Reason      string            `json:"reason"`
	N           int               `json:"n"`
}

// parseLine decodes one printed line. A line that is not one of ours
// (a warning from node, say) becomes Type "unparsed", kept for the
// failure report.
func parseLine(index int, raw string) Line {
	l := Line{Index: index, Raw: raw}
	var j lineJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil || j.Type == "" {
		l.Type = "unparsed"
		return l
	}
	l.Type, l.Transport, l.Message, l.Description = j.Type, j.Transport, j.Message, j.Description
	l.Data, l.Event, l.Args, l.Reply, l.Reason, l.N = j.Data, j.Event, j.Args, j.Reply, j.Reason, j.N
	if len(j.ID) > 0 && j.ID[0] == '"' {
		json.Unmarshal(j.ID, &l.SID)
	} else if len(j.ID) > 0 {
		json.Unmarshal(j.ID, &l.AckID)
	}
	return l
}

// Command is one line for sio-client.js's stdin: an emit, a reply to the
// server's ack request, a disconnect or a connect.
type Command struct {
	Emit    string        // event name to emit
	Args    []any         // its arguments, marshalled as JSON (json.RawMessage passes through as is; Binary for bytes)
	Ack     bool          // ask for an ack; it comes back as a Line of Type "ack" with AckID == ID
	ID      int           // names the ack
	Timeout time.Duration // with Ack: give up after this long (a Line of Type "ack_timeout"); 0 waits for ever

	Reply *int // answer the server's event whose Line had this Reply number, with Args

	Disconnect bool // socket.disconnect()
	Connect    bool // socket.connect()
}

// MarshalJSON writes the command as sio-client.js reads it.
func (c Command) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if c.Emit != "" {
		m["emit"] = c.Emit
	}
	if c.Args != nil {
		m["args"] = c.Args
	}
	if c.Ack {
		m["ack"], m["id"] = true, c.ID
		if c.Timeout > 0 {
			m["timeout"] = c.Timeout.Milliseconds()
		}
	}
	if c.Reply != nil {
		m["reply"] = *c.Reply
	}
	if c.Disconnect {
		m["disconnect"] = true
	}
	if c.Connect {
		m["connect"] = true
	}
	return json.Marshal(m)
}

// Binary stands for bytes in a command's arguments: the client sends
// them as a Buffer, a socket.io binary attachment. Bytes that arrive are
// printed the same way, {"$binary":"BASE64"}.
func Binary(b []byte) any {
	return map[string]string{"$binary": base64.StdEncoding.EncodeToString(b)}
}

// Client is a running sio-client.js.
type Client struct {
	t      *testing.T
	url    string
	proc   *proctest.Proc
	stdin  io.WriteCloser
	out    *transcript
	nextID int // for EmitAck
}

// StartClient starts the official socket.io client, connecting to url
// (see URL). It is ended by its PID when the test ends, or by Close.
func StartClient(t *testing.T, url string, opts ClientOptions) *Client {
	t.Helper()
	node, dir := setup(t)
	args := []string{"sio-client.js", url}
	if opts.Transports != nil {
		args = append(args, "--transports", strings.Join(opts.Transports, ","))
	}
	if opts.Auth != nil {
		auth, err := json.Marshal(opts.Auth)
		if err != nil {
			t.Fatalf("nodepeer: Auth %v: %v", opts.Auth, err)
		}
		args = append(args, "--auth", string(auth))
	}
	if opts.Namespace != "" {
		args = append(args, "--namespace", opts.Namespace)
	}
	if opts.Path != "" {
		args = append(args, "--path", opts.Path)
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	if opts.ReconnectionDelay > 0 {
		args = append(args, "--reconnection-delay", ms(opts.ReconnectionDelay))
	}
	if opts.ReconnectionDelayMax > 0 {
		args = append(args, "--reconnection-delay-max", ms(opts.ReconnectionDelayMax))
	}
	if opts.NoReconnection {
		args = append(args, "--no-reconnection")
	}
	if opts.ConnectTimeout > 0 {
		args = append(args, "--timeout", ms(opts.ConnectTimeout))
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	c := &Client{t: t, url: url, out: newTranscript()}
	cmd.Stdout = c.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("nodepeer: stdin pipe: %v", err)
	}
	c.stdin = stdin
	c.proc = proctest.Start(t, cmd)
	return c
}

// Send writes one command to the client.
func (c *Client) Send(cmd Command) {
	c.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		c.t.Fatalf("nodepeer: command %+v: %v", cmd, err)
	}
	c.SendRaw(string(b))
}

// SendRaw writes one line to the client as it is, for a test of how it
// takes a bad command.
func (c *Client) SendRaw(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("nodepeer: writing to sio-client.js: %v\n%s", err, c.report())
	}
}

// Emit emits event with args, without asking for an ack.
func (c *Client) Emit(event string, args ...any) {
	c.t.Helper()
	c.Send(Command{Emit: event, Args: nonNil(args)})
}

// EmitAck emits event with args, asking for an ack, and waits for it (at
// most proctest.Limit); it returns the ack's arguments.
func (c *Client) EmitAck(event string, args ...any) []json.RawMessage {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	c.Send(Command{Emit: event, Args: nonNil(args), Ack: true, ID: id})
	return c.Next(proctest.Limit, Ack(id)).Args
}

// nonNil makes "no arguments" an empty JSON array rather than a missing one.
func nonNil(args []any) []any {
	if args == nil {
		return []any{}
	}
	return args
}

// Next waits (at most timeout) for the first line that match accepts and
// that no earlier Next returned, and returns it. Lines it passes over
// stay for later calls, so events from different sources may arrive in
// any order. It fails the test, showing every line so far, on timeout, if
// the client exits first, or if the client reported a command it could
// not run (a Line of Type "error" that match does not accept).
func (c *Client) Next(timeout time.Duration, match func(Line) bool) Line {
	c.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l, found, bad, changed := c.out.take(match)
		if found {
			return l
		}
		if bad != nil {
			c.t.Fatalf("sio-client.js could not run a command: %s\n%s", bad.Raw, c.report())
		}
		select {
		case <-changed:
		case <-c.proc.Done:
			// Everything it printed is in: exec's Wait returns only after
			// its output has been copied.
			if l, found, _, _ := c.out.take(match); found {
				return l
			}
			c.t.Fatalf("sio-client.js exited (%v) before the line the test waited for\n%s", c.proc.Cmd.ProcessState, c.report())
		case <-timer.C:
			c.t.Fatalf("no such line from sio-client.js within %v\n%s", timeout, c.report())
		}
	}
}

// Lines returns every line the client printed so far.
func (c *Client) Lines() []Line { return c.out.all() }

// Seen returns the lines so far that match accepts, whether or not Next
// returned them: for checking that something did not happen.
func (c *Client) Seen(match func(Line) bool) []Line {
	var out []Line
	for _, l := range c.out.all() {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// PID is the client's process id.
func (c *Client) PID() int { return c.proc.Cmd.Process.Pid }

// Close ends the client by its PID (SIGTERM) and waits, at most
// proctest.Limit, until it is gone. The server sees the connection end.
func (c *Client) Close() {
	c.t.Helper()
	select {
	case <-c.proc.Done:
		return
	default:
	}
	c.proc.Signal(c.t, syscall.SIGTERM)
	c.proc.ExitCode(c.t)
}

// report is the failure text: every line, marked when Next returned it,
// and what the client said on stderr.
func (c *Client) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sio-client.js %s (pid %d), stdout (* = taken by Next):\n", c.url, c.PID())
	c.out.mu.Lock()
	for i, l := range c.out.lines {
		mark := " "
		if c.out.taken[i] {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %s %2d %s\n", mark, i, l.Raw)
	}
	if len(c.out.partial) > 0 {
		fmt.Fprintf(&b, "    (unfinished) %s\n", c.out.partial)
	}
	c.out.mu.Unlock()
	fmt.Fprintf(&b, "stderr:\n%s", c.proc.Stderr.String())
	return b.String()
}

// transcript is the client's stdout, cut into lines as it arrives.
type transcript struct {
	mu      sync.Mutex
	lines   []Line
	taken   []bool        // taken[i]: Next returned lines[i]
	partial []byte        // the start of a line not yet ended
	changed chan struct{} // closed (and replaced) when a line arrives
}

func newTranscript() *transcript {
	return &transcript{changed: make(chan struct{})}
}

// Write takes what the client printed; exec calls it from its own
// goroutine.
func (tr *transcript) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.partial = append(tr.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(tr.partial, '\n')
		if i < 0 {
			break
		}
		tr.lines = append(tr.lines, parseLine(len(tr.lines), string(tr.partial[:i])))
		tr.taken = append(tr.taken, false)
		tr.partial = tr.partial[i+1:]
		added = true
	}
	if added {
		close(tr.changed)
		tr.changed = make(chan struct{})
	}
	return len(p), nil
}

// take finds the first line not yet taken that match accepts and marks it
// taken. Otherwise it returns the first untaken "error" line, if any, and
// a channel closed when more lines arrive.
func (tr *transcript) take(match func(Line) bool) (l Line, found bool, bad *Line, changed <-chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, l := range tr.lines {
		if !tr.taken[i] && match(l) {
			tr.taken[i] = true
			return l, true, nil, nil
		}
	}
	for i := range tr.lines {
		if !tr.taken[i] && tr.lines[i].Type == "error" {
			l := tr.lines[i]
			return Line{}, false, &l, tr.changed
		}
	}
	return Line{}, false, nil, tr.changed
}

func (tr *transcript) all() []Line {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Line(nil), tr.lines...)
}

// Type matches lines of that type ("connect", "disconnect", "upgrade", …).
func Type(typ string) func(Line) bool {
	return func(l Line) bool { return l.Type == typ }
}

// Event matches the server's event of that name.
func Event(name string) func(Line) bool {
	return func(l Line) bool { return l.Type == "event" && l.Event == name }
}

// Ack matches the answer to the emit command with that id: an ack, or an
// ack_timeout when the command set a Timeout.
func Ack(id int) func(Line) bool {
	return func(l Line) bool { return (l.Type == "ack" || l.Type == "ack_timeout") && l.AckID == id }
}
