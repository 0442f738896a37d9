package redisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"socklab/internal/wire"
)

// Packet is the socket.io packet a broadcast carries: an EVENT, as the
// server would write it to each of its clients. It is wire's Packet (the
// namespace, the event name, the arguments as raw JSON, the ack id when
// the sender wants answers) plus the attachments its placeholders stand
// for, so a server hands it to its transports as it would any packet.
//
// On Redis it is the object socket.io-parser encodes, before encoding:
//
//	{type: 2, data: ["chat", "ann", "hi"], nsp: "/"}      (id: 7 with an ack)
//
// written as MessagePack, where bytes are MessagePack's own bin values
// instead of placeholders.
type Packet struct {
	wire.Packet
	Attachments [][]byte
}

// EventPacket makes the Packet for emit(event, args…) in namespace nsp,
// with args as raw JSON (placeholders allowed when attachments are given).
func EventPacket(nsp, event string, args []json.RawMessage, attachments [][]byte) Packet {
	p := Packet{Attachments: attachments}
	p.Engine, p.Socket = wire.Message, wire.Event
	if len(attachments) > 0 {
		p.Socket = wire.BinaryEvent
		p.Packet.Attachments = len(attachments)
	}
	p.Namespace, p.Event, p.Args, p.AckID = nsp, event, args, wire.NoAck
	return p
}

// packetJSON is the packet object as JSON, in the Node side's key order
// (type, data, nsp, id), with placeholders for bytes.
type packetJSON struct {
	Type int               `json:"type"`
	Data []json.RawMessage `json:"data"`
	Nsp  *string           `json:"nsp,omitempty"`
	ID   *int              `json:"id,omitempty"`
}

func (p Packet) toJSON() (packetJSON, error) {
	if p.Event == "" {
		return packetJSON{}, errors.New("redisadapter: a broadcast packet needs an event name")
	}
	if p.Socket != wire.Event && p.Socket != wire.BinaryEvent {
		return packetJSON{}, fmt.Errorf("redisadapter: only events are broadcast, not %v", p.Socket)
	}
	name, _ := json.Marshal(p.Event)
	data := append([]json.RawMessage{name}, p.Args...)
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	// socket.io 4 broadcasts type EVENT even when there are bytes: its
	// encoder makes it a BINARY_EVENT on the way out to each client.
	pj := packetJSON{Type: 2, Data: data, Nsp: &nsp}
	if p.HasAck {
		id := p.AckID
		pj.ID = &id
	}
	return pj, nil
}

// fromJSON turns the packet object back into a Packet. attachments are
// the bytes its placeholders stand for (from the MessagePack bins).
func (pj packetJSON) toPacket(attachments [][]byte) (Packet, error) {
	// 2 is EVENT; 5 (BINARY_EVENT) is what socket.io 2 wrote for an
	// event with bytes.
	if pj.Type != 2 && pj.Type != 5 {
		return Packet{}, fmt.Errorf("redisadapter: packet type %d is not an event", pj.Type)
	}
	if len(pj.Data) == 0 {
		return Packet{}, errors.New("redisadapter: an event packet without data")
	}
	var event string
	if err := json.Unmarshal(pj.Data[0], &event); err != nil || event == "" {
		return Packet{}, fmt.Errorf("redisadapter: the event name is not a string: %s", pj.Data[0])
	}
	nsp := "/"
	if pj.Nsp != nil {
		nsp = *pj.Nsp
	}
	p := EventPacket(nsp, event, pj.Data[1:], attachments)
	if pj.ID != nil {
		p.HasAck, p.AckID = true, *pj.ID
	}
	return p, nil
}

// BroadcastOptions say who gets a broadcast: the members of Rooms (all of
// the namespace when there are none) except the members of Except (a
// socket's id is a room with that socket in it, so socket.broadcast.emit
// is Except: [its id]).
type BroadcastOptions struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
	Flags  Flags    `json:"flags"`
}

// Flags are socket.io's broadcast flags that travel with a broadcast.
type Flags struct {
	Volatile bool  `json:"volatile,omitempty"` // may be dropped for a client that is not ready to receive
	Compress *bool `json:"compress,omitempty"` // socket.compress(false); nil: the default (true)
	Local    bool  `json:"local,omitempty"`    // this node's clients only; never published, but kept if seen
	Timeout  int   `json:"timeout,omitempty"`  // milliseconds a broadcast with acks waits for them
}

// rooms reads a list of rooms, where a room may be written as a number
// (socket.io's Room type once allowed numbers): it becomes its decimal
// text, as the Node adapter compares it.
type rooms []string

func (r *rooms) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("a room list: %w", err)
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return fmt.Errorf("a room is a string or a number, not %s", v)
		}
		out = append(out, n.String())
	}
	*r = out
	return nil
}

// optionsJSON reads BroadcastOptions leniently: rooms may be numbers, and
// a missing list is an empty one.
type optionsJSON struct {
	Rooms  rooms `json:"rooms"`
	Except rooms `json:"except"`
	Flags  Flags `json:"flags"`
}

func (o optionsJSON) options() BroadcastOptions {
	return BroadcastOptions{Rooms: o.Rooms, Except: o.Except, Flags: o.Flags}
}

// wireOptions is BroadcastOptions as written: the lists are never null.
func wireOptions(o BroadcastOptions) BroadcastOptions {
	if o.Rooms == nil {
		o.Rooms = []string{}
	}
	if o.Except == nil {
		o.Except = []string{}
	}
	return o
}

// Broadcast is what a node publishes when one of its sockets, or the
// server, emits to more than the one client: on Redis a MessagePack array
//
//	[UID, {type: 2, data: ["chat", …], nsp: "/"}, {rooms: […], except: […], flags: {…}}]
//
// where UID names the node that sent it (it ignores its own broadcasts
// when they come back to it).
type Broadcast struct {
	UID    string
	Packet Packet
	Opts   BroadcastOptions
}

// EncodeBroadcast writes b as the Node adapter does.
func EncodeBroadcast(b Broadcast) ([]byte, error) {
	pj, err := b.Packet.toJSON()
	if err != nil {
		return nil, err
	}
	uid, _ := json.Marshal(b.UID)
	packet, err := json.Marshal(pj)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	opts, err := json.Marshal(wireOptions(b.Opts))
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	js := bytes.Join([][]byte{[]byte("["), uid, []byte(","), packet, []byte(","), opts, []byte("]")}, nil)
	out, err := jsonToMsgpack(js, b.Packet.Attachments)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	return out, nil
}

// DecodeBroadcast reads a broadcast message published by any node.
func DecodeBroadcast(msg []byte) (Broadcast, error) {
	js, atts, err := msgpackToJSON(msg, nil)
	if err != nil {
		return Broadcast{}, fmt.Errorf("redisadapter: broadcast: %w", err)
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(js, &parts); err != nil || len(parts) != 3 {
		return Broadcast{}, errors.New("redisadapter: a broadcast is an array [uid, packet, options]")
	}
	var b Broadcast
	if err := json.Unmarshal(parts[0], &b.UID); err != nil {
		return Broadcast{}, fmt.Errorf("redisadapter: the broadcast's uid is not a string: %s", parts[0])
	}
	var pj packetJSON
	if err := json.Unmarshal(parts[1], &pj); err != nil {
		return Broadcast{}, fmt.Errorf("redisadapter: the broadcast's packet: %w", err)
	}
	if b.Packet, err = pj.toPacket(atts); err != nil {
		return Broadcast{}, err
	}
	var o optionsJSON
	if err := json.Unmarshal(parts[2], &o); err != nil {
		return Broadcast{}, fmt.Errorf("redisadapter: the broadcast's options: %w", err)
	}
	b.Opts = o.options()
	return b, nil
}

// String is a one-line summary, for logs and failed tests.
func (b Broadcast) String() string {
	return fmt.Sprintf("broadcast from %s: %s %s rooms=%v except=%v flags=%+v (%s attachments)",
		b.UID, b.Packet.Namespace, b.Packet.Event, b.Opts.Rooms, b.Opts.Except, b.Opts.Flags, strconv.Itoa(len(b.Packet.Attachments)))
}
