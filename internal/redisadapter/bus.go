package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config is what a Bus needs. Only URL and OnMessage are required.
type Config struct {
	URL        string   // redis://127.0.0.1:6379 (redis.ParseURL's forms)
	Key        string   // channel prefix; "" is DefaultKey ("socket.io")
	UID        string   // this node's id in every message; "" picks 6 random letters, as the Node adapter does
	Namespaces []string // subscribed from the start; Subscribe adds more

	// OnMessage gets every message from another node, decoded, in the
	// order Redis delivered them, on one goroutine of the Bus. It must
	// not block for long: a server posts the message onto its event loop
	// and returns. While it is busy, new messages wait in a queue of
	// MaxInbound; beyond that they are dropped and counted.
	OnMessage func(Message)

	// OnStatus, if set, hears about the connection: subscribed, lost
	// (with the window in which broadcasts may have been missed),
	// publishing failing and resumed. Same goroutine rules as OnMessage,
	// but it is called from the Bus's reading and publishing goroutines.
	OnStatus func(Status)

	MaxQueue        int           // publishes waiting for Redis, at most (default 4096)
	MaxQueueBytes   int           // and at most this many bytes (default 8 MiB)
	MaxInbound      int           // received messages waiting for OnMessage (default 4096)
	MaxMessageBytes int           // a received message larger than this is dropped (default 1 MiB, miniio's maxPayload)
	MinBackoff      time.Duration // first wait before reconnecting (default 100 ms), doubling …
	MaxBackoff      time.Duration // … up to this (default 5 s), each ±50 % at random
	HealthInterval  time.Duration // after this much silence the subscriber PINGs; twice that, and it reconnects (default 5 s)
	DialTimeout     time.Duration // default 2 s
	IOTimeout       time.Duration // one PUBLISH round trip, at most (default 3 s)
}

func (c *Config) defaults() {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Key == "" {
		c.Key = DefaultKey
	}
	set(&c.MaxQueue, 4096)
	set(&c.MaxQueueBytes, 8<<20)
	set(&c.MaxInbound, 4096)
	set(&c.MaxMessageBytes, 1<<20)
	setD(&c.MinBackoff, 100*time.Millisecond)
	setD(&c.MaxBackoff, 5*time.Second)
	setD(&c.HealthInterval, 5*time.Second)
	setD(&c.DialTimeout, 2*time.Second)
	setD(&c.IOTimeout, 3*time.Second)
}

// Kind says what a Message carries.
type Kind int

const (
	KindBroadcast Kind = iota
	KindRequest
	KindResponse
)

// Message is one message from another node, decoded. Exactly one of
// Broadcast, Request and Response is set, as Kind says.
type Message struct {
	Kind      Kind
	Namespace string
	Room      string // KindBroadcast: the room whose channel it came on, "" for the namespace's channel
	Broadcast *Broadcast
	Request   *Request
	Response  *Response
}

// StatusKind says what happened to the connection.
type StatusKind int

const (
	Subscribed     StatusKind = iota // the first subscription is in place
	Lost                             // the subscription connection died (Since, Err)
	Resubscribed                     // back after a loss (Since, Back, Window)
	PublishFailing                   // a PUBLISH failed; later ones queue (Err)
	PublishResumed                   // publishing works again (Dropped)
)

// Status is news about the connection to Redis.
type Status struct {
	Kind StatusKind
	Err  error

	// Lost, Resubscribed: Since is the last moment the subscription was
	// known to work (the last message or PONG read); Back is when it
	// worked again. Redis pub/sub keeps nothing for a subscriber that is
	// away, so whatever other nodes published in between never arrives.
	Since, Back time.Time
	Window      time.Duration // Back − Since

	// PublishResumed: publishes of ours lost while it failed: refused by
	// a full queue, or sent on a connection that then failed (Redis may
	// or may not have passed those on).
	Dropped uint64
}

func (s Status) String() string {
	const clock = "15:04:05.000"
	switch s.Kind {
	case Subscribed:
		return "redis: subscribed"
	case Lost:
		return fmt.Sprintf("redis: subscription lost (%v); last heard from Redis at %s", s.Err, s.Since.Format(clock))
	case Resubscribed:
		return fmt.Sprintf("redis: subscribed again at %s: broadcasts other nodes sent in the %v since %s are lost",
			s.Back.Format(clock), s.Window.Round(time.Millisecond), s.Since.Format(clock))
	case PublishFailing:
		return fmt.Sprintf("redis: publishing failed (%v); trying again with backoff", s.Err)
	case PublishResumed:
		return fmt.Sprintf("redis: publishing again; %d of our messages were lost meanwhile", s.Dropped)
	}
	return fmt.Sprintf("redis: status %d", int(s.Kind))
}

// Stats are the Bus's counters since it started.
type Stats struct {
	Published     uint64 // PUBLISHes Redis answered
	PublishFailed uint64 // sent on a connection that failed: maybe delivered, maybe not
	QueueDropped  uint64 // refused because the publish queue was full
	Received      uint64 // messages from other nodes handed to OnMessage
	Own           uint64 // our own broadcasts and requests, come back and ignored
	InboundDrop   uint64 // received but dropped: OnMessage was too slow, or the message too large
	Malformed     uint64 // received but not understood
	Losses        uint64 // times the subscription was lost
	Queued        int    // publishes waiting now
	QueuedBytes   int    // their bytes
	PeakQueued    int    // the most that ever waited
	PeakBytes     int    // the most bytes that ever waited
	Subscribed    bool   // the subscription is in place now
}

// ErrQueueFull is what a Publish returns when Redis is too slow or away
// and the queue is at its bound: the message is dropped and counted.
var ErrQueueFull = errors.New("redisadapter: publish queue full, message dropped")

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("redisadapter: bus closed")

// Bus is a node's connection to the others through Redis: it publishes
// broadcasts, requests and responses, and subscribes to the channels of
// its namespaces. One goroutine publishes (from a bounded queue), one
// reads the subscription, one calls OnMessage; each reconnects on its
// own with backoff.
type Bus struct {
	cfg    Config
	client *redis.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	namespaces []string
	ps         *redis.PubSub // the live subscription, nil while away
	queue      []outgoing
	stats      Stats
	lastErr    error
	up         chan struct{} // closed at the first subscription

	wake    chan struct{}  // a publish is queued
	inbound chan inMessage // read, waiting for OnMessage

	publishedSinceLoss atomic.Uint64 // dropped or failed since publishing last worked
}

type outgoing struct {
	channel string
	payload []byte
}

type inMessage struct {
	channel, pattern string
	payload          string
}

// quietLogger drops go-redis's own log lines ("connection pool: failed
// to dial after 5 attempts", one per attempt): the Bus says the same once,
// through OnStatus, with what it means for the messages.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

// New checks cfg and starts the Bus; it connects in the background.
// WaitSubscribed tells when it is in place. Dial does both.
func New(cfg Config) (*Bus, error) {
	if cfg.OnMessage == nil {
		return nil, errors.New("redisadapter: Config.OnMessage is required")
	}
	quietOnce.Do(func() { redis.SetLogger(quietLogger{}) })
	cfg.defaults()
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %q: %w", cfg.URL, err)
	}
	// RESP2 and no client-identity or maintenance commands: the plain
	// protocol every redis-server speaks. No retries: a PUBLISH retried
	// after a lost answer could reach the other nodes twice.
	opts.Protocol = 2
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opts.MaxRetries = -1
	opts.DialTimeout = cfg.DialTimeout
	opts.ReadTimeout, opts.WriteTimeout = cfg.IOTimeout, cfg.IOTimeout
	opts.PoolSize = 2
	if cfg.UID == "" {
		cfg.UID = randomUID()
	}
	b := &Bus{
		cfg:        cfg,
		client:     redis.NewClient(opts),
		namespaces: append([]string(nil), cfg.Namespaces...),
		up:         make(chan struct{}),
		wake:       make(chan struct{}, 1),
		inbound:    make(chan inMessage, cfg.MaxInbound),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(3)
	go b.publishLoop()
	go b.subscribeLoop()
	go b.deliverLoop()
	return b, nil
}

// Dial is New, then WaitSubscribed: a clear error when Redis is not
// there, instead of a server that silently serves alone.
func Dial(ctx context.Context, cfg Config) (*Bus, error) {
	b, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.WaitSubscribed(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// WaitSubscribed waits until the subscription is first in place, or ctx
// ends; then the error says why it is not (connection refused, …).
func (b *Bus) WaitSubscribed(ctx context.Context) error {
	select {
	case <-b.up:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		last := b.lastErr
		b.mu.Unlock()
		if last == nil {
			last = ctx.Err()
		}
		return fmt.Errorf("redisadapter: no subscription at %s: %w", b.client.Options().Addr, last)
	}
}

// UID is this node's id.
func (b *Bus) UID() string { return b.cfg.UID }

// Key is the channel prefix.
func (b *Bus) Key() string { return b.cfg.Key }

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Queued = len(b.queue)
	return s
}

// Close stops the Bus and closes its connections. What is still queued
// is not sent.
func (b *Bus) Close() error {
	b.cancel()
	b.mu.Lock()
	if b.ps != nil {
		b.ps.Close() // ends a read in progress
	}
	b.mu.Unlock()
	b.wg.Wait()
	return b.client.Close()
}

// Subscribe adds a namespace: its broadcasts, requests and responses
// reach OnMessage from now on.
func (b *Bus) Subscribe(nsp string) error {
	b.mu.Lock()
	for _, n := range b.namespaces {
		if n == nsp {
			b.mu.Unlock()
			return nil
		}
	}
	b.namespaces = append(b.namespaces, nsp)
	ps := b.ps
	b.mu.Unlock()
	if ps == nil {
		return nil // the next (re)connection subscribes it
	}
	return b.subscribeNamespaces(ps, []string{nsp})
}

// ServerCount asks Redis how many nodes serve namespace nsp: the
// subscribers of its request channel, this node included (PUBSUB
// NUMSUB, as the Node adapter counts).
func (b *Bus) ServerCount(ctx context.Context, nsp string) (int, error) {
	ch := RequestChannel(b.cfg.Key, nsp)
	m, err := b.client.PubSubNumSub(ctx, ch).Result()
	if err != nil {
		return 0, fmt.Errorf("redisadapter: PUBSUB NUMSUB: %w", err)
	}
	return int(m[ch]), nil
}

// PublishBroadcast queues a broadcast for the other nodes. It is sent
// from this node (UID is set to ours).
func (b *Bus) PublishBroadcast(br Broadcast) error {
	br.UID = b.cfg.UID
	msg, err := EncodeBroadcast(br)
	if err != nil {
		return err
	}
	return b.enqueue(PublishChannel(b.cfg.Key, br.Packet.Namespace, br.Opts), msg)
}

// PublishRequest queues a request to the other nodes of nsp.
func (b *Bus) PublishRequest(nsp string, r Request) error {
	r.UID = b.cfg.UID
	msg, err := EncodeRequest(r)
	if err != nil {
		return err
	}
	return b.enqueue(RequestChannel(b.cfg.Key, nsp), msg)
}

// PublishResponse queues an answer to a request of forType. toUID ""
// publishes on the namespace's response channel, which is where the Node
// adapter (by default) listens; a UID publishes on that node's own.
func (b *Bus) PublishResponse(nsp string, r Response, forType RequestType, toUID string) error {
	msg, err := EncodeResponse(r, forType)
	if err != nil {
		return err
	}
	ch := ResponseChannel(b.cfg.Key, nsp)
	if toUID != "" {
		ch = SpecificResponseChannel(b.cfg.Key, nsp, toUID)
	}
	return b.enqueue(ch, msg)
}

// Publish queues a message already encoded.
func (b *Bus) Publish(channel string, msg []byte) error { return b.enqueue(channel, msg) }

// enqueue adds a message to the bounded queue, or drops and counts it.
func (b *Bus) enqueue(channel string, msg []byte) error {
	if b.ctx.Err() != nil {
		return ErrClosed
	}
	b.mu.Lock()
	if len(b.queue) >= b.cfg.MaxQueue || b.stats.QueuedBytes+len(msg) > b.cfg.MaxQueueBytes {
		b.stats.QueueDropped++
		b.mu.Unlock()
		b.publishedSinceLoss.Add(1)
		return ErrQueueFull
	}
	b.queue = append(b.queue, outgoing{channel, msg})
	b.stats.QueuedBytes += len(msg)
	b.stats.PeakQueued = max(b.stats.PeakQueued, len(b.queue))
	b.stats.PeakBytes = max(b.stats.PeakBytes, b.stats.QueuedBytes)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}

// maxBatch is how many queued publishes go in one pipeline: one write
// and one read for all of them.
const maxBatch = 64

// publishLoop sends what is queued, a batch at a time. When Redis fails
// it counts the batch as failed, waits (backoff) and goes on; the queue
// keeps its bound meanwhile.
func (b *Bus) publishLoop() {
	defer b.wg.Done()
	backoff := newBackoff(b.cfg.MinBackoff, b.cfg.MaxBackoff)
	failing := false
	for {
		batch := b.takeBatch()
		if batch == nil {
			select {
			case <-b.wake:
				continue
			case <-b.ctx.Done():
				return
			}
		}
		pipe := b.client.Pipeline()
		for _, m := range batch {
			pipe.Publish(b.ctx, m.channel, m.payload)
		}
		_, err := pipe.Exec(b.ctx)
		b.mu.Lock()
		if err != nil {
			b.stats.PublishFailed += uint64(len(batch))
		} else {
			b.stats.Published += uint64(len(batch))
		}
		b.mu.Unlock()
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			b.publishedSinceLoss.Add(uint64(len(batch)))
			if !failing {
				failing = true
				b.status(Status{Kind: PublishFailing, Err: err})
			}
			if !b.sleep(backoff.next()) {
				return
			}
			continue
		}
		backoff.reset()
		if failing {
			failing = false
			b.status(Status{Kind: PublishResumed, Dropped: b.publishedSinceLoss.Swap(0)})
		}
	}
}

// takeBatch removes up to maxBatch messages from the queue's front.
func (b *Bus) takeBatch() []outgoing {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), maxBatch)
	if n == 0 {
		return nil
	}
	batch := make([]outgoing, n)
	copy(batch, b.queue)
	clear(b.queue[:n])
	b.queue = b.queue[n:]
	if len(b.queue) == 0 {
		b.queue = nil // let the backing array go
	}
	for _, m := range batch {
		b.stats.QueuedBytes -= len(m.payload)
	}
	return batch
}

// subscribeLoop keeps one subscription connection: subscribe, read until
// the connection fails or falls silent, wait, again.
func (b *Bus) subscribeLoop() {
	defer b.wg.Done()
	defer close(b.inbound)
	backoff := newBackoff(b.cfg.MinBackoff, b.cfg.MaxBackoff)
	var lostSince time.Time // zero unless a subscription was lost and is not back
	everUp := false
	onUp := func(at time.Time) {
		backoff.reset()
		switch {
		case !everUp:
			everUp = true
			close(b.up)
			b.status(Status{Kind: Subscribed})
		case !lostSince.IsZero():
			b.status(Status{Kind: Resubscribed, Since: lostSince, Back: at, Window: at.Sub(lostSince)})
			lostSince = time.Time{}
		}
	}
	for b.ctx.Err() == nil {
		ps, err := b.subscribe()
		if err == nil {
			var heard time.Time
			heard, err = b.read(ps, onUp)
			if b.ctx.Err() != nil {
				return
			}
			b.mu.Lock()
			wasUp := b.stats.Subscribed
			if wasUp {
				b.stats.Losses++
			}
			b.stats.Subscribed = false
			b.mu.Unlock()
			if wasUp {
				lostSince = heard
				b.status(Status{Kind: Lost, Err: err, Since: heard})
			}
		}
		b.mu.Lock()
		b.lastErr = err
		b.mu.Unlock()
		if !b.sleep(backoff.next()) {
			return
		}
	}
}

// subscribe opens a subscription connection for every namespace.
func (b *Bus) subscribe() (*redis.PubSub, error) {
	ps := b.client.Subscribe(b.ctx)
	b.mu.Lock()
	nsps := append([]string(nil), b.namespaces...)
	b.ps = ps
	b.mu.Unlock()
	if err := b.subscribeNamespaces(ps, nsps); err != nil {
		b.dropPubSub(ps)
		return nil, err
	}
	return ps, nil
}

func (b *Bus) subscribeNamespaces(ps *redis.PubSub, nsps []string) error {
	if len(nsps) == 0 {
		return nil
	}
	var patterns, channels []string
	for _, nsp := range nsps {
		patterns = append(patterns, BroadcastPattern(b.cfg.Key, nsp))
		channels = append(channels, RequestChannel(b.cfg.Key, nsp), ResponseChannel(b.cfg.Key, nsp),
			SpecificResponseChannel(b.cfg.Key, nsp, b.cfg.UID))
	}
	if err := ps.PSubscribe(b.ctx, patterns...); err != nil {
		return err
	}
	return ps.Subscribe(b.ctx, channels...)
}

func (b *Bus) dropPubSub(ps *redis.PubSub) {
	b.mu.Lock()
	if b.ps == ps {
		b.ps = nil
	}
	b.mu.Unlock()
	ps.Close()
}

// read reads the subscription until it fails. Redis confirms each
// SUBSCRIBE and PSUBSCRIBE; once the first confirmation arrives the
// subscription is up (onUp). Silence longer than HealthInterval gets a
// PING; no answer within another HealthInterval ends the connection: a
// stopped or wedged Redis never closes it. It returns the last moment
// Redis was heard from, and why it stopped.
func (b *Bus) read(ps *redis.PubSub, onUp func(time.Time)) (lastHeard time.Time, err error) {
	defer b.dropPubSub(ps)
	pinged := false
	up := false
	for {
		msg, err := ps.ReceiveTimeout(b.ctx, b.cfg.HealthInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				if err := ps.Ping(b.ctx); err != nil {
					return lastHeard, err
				}
				continue
			}
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("no answer to PING within %v", b.cfg.HealthInterval)
			}
			return lastHeard, err
		}
		lastHeard, pinged = time.Now(), false
		switch m := msg.(type) {
		case *redis.Subscription:
			if !up {
				up = true
				b.mu.Lock()
				b.stats.Subscribed = true
				b.mu.Unlock()
				onUp(lastHeard)
			}
		case *redis.Message:
			b.received(m)
		}
	}
}

// received hands a message to the delivering goroutine, or drops it when
// that one is too far behind.
func (b *Bus) received(m *redis.Message) {
	if len(m.Payload) > b.cfg.MaxMessageBytes {
		b.count(func(s *Stats) { s.InboundDrop++ })
		return
	}
	select {
	case b.inbound <- inMessage{channel: m.Channel, pattern: m.Pattern, payload: m.Payload}:
	default:
		b.count(func(s *Stats) { s.InboundDrop++ })
	}
}

// deliverLoop decodes what was read and calls OnMessage, one at a time.
func (b *Bus) deliverLoop() {
	defer b.wg.Done()
	for m := range b.inbound {
		msg, own, err := b.decode(m)
		switch {
		case err != nil:
			b.count(func(s *Stats) { s.Malformed++ })
		case own:
			b.count(func(s *Stats) { s.Own++ })
		default:
			b.count(func(s *Stats) { s.Received++ })
			b.cfg.OnMessage(msg)
		}
	}
}

// decode finds the namespace by the channel and decodes the message;
// own says it is one of ours, come back.
func (b *Bus) decode(m inMessage) (msg Message, own bool, err error) {
	b.mu.Lock()
	nsps := b.namespaces
	b.mu.Unlock()
	key := b.cfg.Key
	for _, nsp := range nsps {
		if room, ok := ChannelRoom(key, nsp, m.channel); ok && m.pattern != "" {
			br, err := DecodeBroadcast([]byte(m.payload))
			if err != nil {
				return msg, false, err
			}
			return Message{Kind: KindBroadcast, Namespace: nsp, Room: room, Broadcast: &br}, br.UID == b.cfg.UID, nil
		}
		switch m.channel {
		case RequestChannel(key, nsp):
			r, err := DecodeRequest([]byte(m.payload))
			if err != nil {
				return msg, false, err
			}
			return Message{Kind: KindRequest, Namespace: nsp, Request: &r}, r.UID == b.cfg.UID, nil
		case ResponseChannel(key, nsp), SpecificResponseChannel(key, nsp, b.cfg.UID):
			r, err := DecodeResponse([]byte(m.payload))
			if err != nil {
				return msg, false, err
			}
			return Message{Kind: KindResponse, Namespace: nsp, Response: &r}, false, nil
		}
	}
	return msg, false, fmt.Errorf("redisadapter: a message on channel %q, which no namespace of ours has", m.channel)
}

func (b *Bus) count(f func(*Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

func (b *Bus) status(s Status) {
	if b.cfg.OnStatus != nil {
		b.cfg.OnStatus(s)
	}
}

// sleep waits d, or until Close; false means closed.
func (b *Bus) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

// backoff is the wait before the next attempt: doubling from min to max,
// each wait between half and one and a half times the nominal value, so
// that nodes that lost Redis together do not all come back in the same
// millisecond.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

func (b *backoff) reset() { b.cur = b.min }

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d/2 + time.Duration(mrand.Int64N(int64(d)+1))
}

// randomUID is six random letters and digits, like the Node adapter's
// uid2(6).
func randomUID() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[n.Int64()]
	}
	return string(b)
}
