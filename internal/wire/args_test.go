package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendEventArgs(t *testing.T) {
	cases := []struct {
		ack  int
		name string
		args []any
		want string
	}{
		{NoAck, "chat", []any{"hi"}, `42["chat","hi"]`},
		{17, "chat", []any{"hé ☃", 3, true, nil}, `4217["chat","hé ☃",3,true,null]`},
		{0, "nested", []any{json.RawMessage(`{"a":[1,{"b":"c"}]}`)}, `420["nested",{"a":[1,{"b":"c"}]}]`},
		{NoAck, "m", []any{map[string]int{"x": 1}}, `42["m",{"x":1}]`},
	}
	for _, c := range cases {
		got, err := AppendEventArgs([]byte("keep"), c.ack, c.name, c.args...)
		if err != nil || string(got) != "keep"+c.want {
			t.Errorf("AppendEventArgs(%d, %q, %v) = %q, %v; want %q", c.ack, c.name, c.args, got, err, "keep"+c.want)
		}
	}
	for _, bad := range []struct {
		ack  int
		name string
		args []any
		why  string
	}{
		{NoAck, "connect", nil, "reserved"},
		{NoAck, "\xff", nil, "UTF-8"},
		{MaxAckID + 1, "x", nil, "ack id"},
		{NoAck, "x", []any{json.RawMessage(`{`)}, "argument 1"},
		{NoAck, "x", []any{1, make(chan int)}, "argument 2"},
	} {
		got, err := AppendEventArgs([]byte("keep"), bad.ack, bad.name, bad.args...)
		if err == nil || !strings.Contains(err.Error(), bad.why) || string(got) != "keep" {
			t.Errorf("AppendEventArgs(%d, %q, %v) = %q, %v; want dst unchanged and an error about %s", bad.ack, bad.name, bad.args, got, err, bad.why)
		}
	}
}

func TestAppendAckArgs(t *testing.T) {
	if got, err := AppendAckArgs(nil, 17, "ok", 2); err != nil || string(got) != `4317["ok",2]` {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := AppendAckArgs(nil, 3); err != nil || string(got) != `433[]` {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := AppendAckArgs([]byte("keep"), -1); err == nil || string(got) != "keep" {
		t.Errorf("negative id: got %q, %v", got, err)
	}
}

func TestAppendArgsToNamespace(t *testing.T) {
	for _, c := range []struct {
		got  func() ([]byte, error)
		want string
	}{
		{func() ([]byte, error) { return AppendEventArgsTo(nil, "/admin", NoAck, "chat", "hi") }, `42/admin,["chat","hi"]`},
		{func() ([]byte, error) { return AppendEventArgsTo(nil, "/admin", 7, "chat", map[string]int{"x": 1}) }, `42/admin,7["chat",{"x":1}]`},
		{func() ([]byte, error) { return AppendEventArgsTo(nil, "/", 7, "chat") }, `427["chat"]`},
		{func() ([]byte, error) { return AppendAckArgsTo(nil, "/admin", 17, "ok") }, `43/admin,17["ok"]`},
		{func() ([]byte, error) { return AppendAckArgsTo(nil, "", 17) }, `4317[]`},
	} {
		if got, err := c.got(); err != nil || string(got) != c.want {
			t.Errorf("got %q, %v; want %s", got, err, c.want)
		}
	}
	if got, err := AppendEventArgsTo([]byte("keep"), "admin", NoAck, "x"); err == nil || string(got) != "keep" {
		t.Errorf("namespace without '/': got %q, %v; want dst unchanged and an error", got, err)
	}
	if got, err := AppendAckArgsTo([]byte("keep"), "/a,b", 1); err == nil || string(got) != "keep" {
		t.Errorf("namespace with a comma: got %q, %v; want dst unchanged and an error", got, err)
	}
}
