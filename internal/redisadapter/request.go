package redisadapter

import (
	"encoding/json"
	"errors"
	"fmt"
)

// RequestType is the "type" of a request between nodes, and of some
// answers. The numbers are the Node adapter's.
type RequestType int

const (
	Sockets              RequestType = 0 // which socket ids are in these rooms (older nodes ask; 8.x only answers)
	AllRooms             RequestType = 1 // io.of("/").adapter.allRooms(): every room on every node
	RemoteJoin           RequestType = 2 // io.in(…).socketsJoin(rooms)
	RemoteLeave          RequestType = 3 // io.in(…).socketsLeave(rooms)
	RemoteDisconnect     RequestType = 4 // io.in(…).disconnectSockets(close)
	RemoteFetch          RequestType = 5 // io.in(…).fetchSockets()
	ServerSideEmit       RequestType = 6 // io.serverSideEmit(event, …): to the other servers, not to clients
	BroadcastWithAck     RequestType = 7 // io.timeout(ms).emit(event, …, ack): a broadcast whose clients answer
	BroadcastClientCount RequestType = 8 // answer: how many of my clients got it
	BroadcastAck         RequestType = 9 // answer: one client's acknowledgement
)

func (t RequestType) String() string {
	names := [...]string{"SOCKETS", "ALL_ROOMS", "REMOTE_JOIN", "REMOTE_LEAVE", "REMOTE_DISCONNECT",
		"REMOTE_FETCH", "SERVER_SIDE_EMIT", "BROADCAST", "BROADCAST_CLIENT_COUNT", "BROADCAST_ACK"}
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("RequestType(%d)", int(t))
}

// Request is one message on the request channel. Which fields mean
// something depends on Type:
//
//	Type              fields                       answered with
//	Sockets           RequestID, Rooms             Response.Sockets
//	AllRooms          RequestID                    Response.Rooms
//	RemoteJoin        Opts, Rooms (to join)        nothing
//	                  or RequestID, SID, Room      Response{RequestID} (older nodes: one socket)
//	RemoteLeave       as RemoteJoin
//	RemoteDisconnect  Opts, Close                  nothing
//	                  or RequestID, SID, Close     Response{RequestID}
//	RemoteFetch       RequestID, Opts              Response.Fetched
//	ServerSideEmit    Data; RequestID if the       one Response{Type: ServerSideEmit, Data}
//	                  sender wants answers         per other node
//	BroadcastWithAck  RequestID, Packet, Opts      Response{Type: BroadcastClientCount},
//	                  (Opts.Flags.Timeout)         then Response{Type: BroadcastAck} per client
//
// Every request carries the sender's UID; a node ignores its own.
//
// The Node adapter 8.x writes every request as JSON except
// BroadcastWithAck, which is MessagePack because its packet may hold bytes;
// a reader tells them apart by the first byte ('{' is JSON). EncodeRequest
// chooses the same way.
type Request struct {
	Type      RequestType
	UID       string
	RequestID string // "" when no answer is wanted

	Rooms  []string          // Sockets: where to look; RemoteJoin, RemoteLeave: the rooms to join or leave
	Opts   *BroadcastOptions // which sockets a RemoteJoin/Leave/Disconnect/Fetch or BroadcastWithAck is for
	SID    string            // RemoteJoin/Leave/Disconnect from older nodes: the one socket
	Room   string            // RemoteJoin/Leave from older nodes: the one room
	Close  bool              // RemoteDisconnect: close the whole connection, not just the namespace
	Data   []json.RawMessage // ServerSideEmit: [event, args…]
	Packet *Packet           // BroadcastWithAck: what to send (its AckID is set)
}

// requestJSON is a Request as written, keys in the Node side's order.
type requestJSON struct {
	UID       string            `json:"uid,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	Type      RequestType       `json:"type"`
	Packet    *packetJSON       `json:"packet,omitempty"`
	Opts      *BroadcastOptions `json:"opts,omitempty"`
	Rooms     []string          `json:"rooms,omitempty"`
	SID       string            `json:"sid,omitempty"`
	Room      string            `json:"room,omitempty"`
	Close     *bool             `json:"close,omitempty"`
	Data      []json.RawMessage `json:"data,omitempty"`
}

// requestIn reads a Request leniently.
type requestIn struct {
	UID       string            `json:"uid"`
	RequestID json.RawMessage   `json:"requestId"`
	Type      *RequestType      `json:"type"`
	Packet    *packetJSON       `json:"packet"`
	Opts      *optionsJSON      `json:"opts"`
	Rooms     rooms             `json:"rooms"`
	SID       string            `json:"sid"`
	Room      json.RawMessage   `json:"room"`
	Close     bool              `json:"close"`
	Data      []json.RawMessage `json:"data"`
}

// EncodeRequest writes r as the Node adapter would.
func EncodeRequest(r Request) ([]byte, error) {
	rj := requestJSON{UID: r.UID, RequestID: r.RequestID, Type: r.Type, Rooms: r.Rooms, SID: r.SID, Room: r.Room}
	if r.Opts != nil {
		o := wireOptions(*r.Opts)
		if r.Type != BroadcastWithAck {
			o.Flags = Flags{} // only a broadcast carries flags
		}
		rj.Opts = &o
	}
	switch r.Type {
	case RemoteDisconnect:
		rj.Close = &r.Close
	case ServerSideEmit:
		if len(r.Data) == 0 {
			return nil, errors.New("redisadapter: a server-side emit needs an event name")
		}
		rj.Data = r.Data
	case BroadcastWithAck:
		if r.Packet == nil || r.Opts == nil || r.RequestID == "" {
			return nil, errors.New("redisadapter: a broadcast with acks needs a packet, options and a request id")
		}
		pj, err := r.Packet.toJSON()
		if err != nil {
			return nil, err
		}
		rj.Packet = &pj
	}
	js, err := json.Marshal(rj)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	if r.Type != BroadcastWithAck {
		return js, nil
	}
	out, err := jsonToMsgpack(js, r.Packet.Attachments)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	return out, nil
}

// DecodeRequest reads a request in either encoding.
func DecodeRequest(msg []byte) (Request, error) {
	js, atts, err := toJSON(msg)
	if err != nil {
		return Request{}, fmt.Errorf("redisadapter: request: %w", err)
	}
	var in requestIn
	if err := json.Unmarshal(js, &in); err != nil {
		return Request{}, fmt.Errorf("redisadapter: request: %w", err)
	}
	if in.Type == nil {
		return Request{}, errors.New("redisadapter: a request without a type")
	}
	r := Request{Type: *in.Type, UID: in.UID, Rooms: in.Rooms, SID: in.SID, Close: in.Close, Data: in.Data}
	r.RequestID = idText(in.RequestID)
	r.Room = idText(in.Room)
	if in.Opts != nil {
		o := in.Opts.options()
		r.Opts = &o
	}
	switch r.Type {
	case ServerSideEmit:
		if len(r.Data) == 0 {
			return Request{}, errors.New("redisadapter: a server-side emit without data")
		}
	case BroadcastWithAck:
		if in.Packet == nil || r.Opts == nil {
			return Request{}, errors.New("redisadapter: a broadcast with acks without packet or options")
		}
		p, err := in.Packet.toPacket(atts)
		if err != nil {
			return Request{}, err
		}
		r.Packet = &p
	}
	return r, nil
}

// Response is one message on a response channel. Type is set only for
// the answers that say it (ServerSideEmit, BroadcastClientCount,
// BroadcastAck); the others are matched to their request by RequestID
// alone, so Type is -1 for them.
type Response struct {
	Type      RequestType
	RequestID string

	Sockets     []string        // Sockets: socket ids
	Rooms       []string        // AllRooms: room names
	Fetched     []FetchedSocket // RemoteFetch
	Data        json.RawMessage // ServerSideEmit: the one value the handler's callback was called with
	ClientCount int             // BroadcastClientCount
	Ack         json.RawMessage // BroadcastAck: the client's first ack argument (placeholders for bytes)
	Attachments [][]byte        // BroadcastAck: the bytes Ack's placeholders stand for
}

// NoType is Response.Type for answers that carry no type.
const NoType RequestType = -1

// FetchedSocket is one socket in a RemoteFetch answer: what
// io.fetchSockets() returns for a socket on another node.
type FetchedSocket struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"` // headers, time, address, xdomain, secure, issued, url, query, auth
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"` // socket.data
}

type responseJSON struct {
	Type        *RequestType    `json:"type,omitempty"`
	RequestID   string          `json:"requestId"`
	Sockets     any             `json:"sockets,omitempty"`
	Rooms       any             `json:"rooms,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	ClientCount *int            `json:"clientCount,omitempty"`
	Packet      json.RawMessage `json:"packet,omitempty"`
}

// EncodeResponse writes an answer as the Node adapter does: JSON, except
// a BroadcastAck (MessagePack, for the bytes an ack may hold). For a
// response to Sockets, RemoteFetch or AllRooms, forType says which list
// to write (an empty list is still written, so that the asker counts the
// answer).
func EncodeResponse(r Response, forType RequestType) ([]byte, error) {
	rj := responseJSON{RequestID: r.RequestID}
	if r.RequestID == "" {
		return nil, errors.New("redisadapter: a response needs the request's id")
	}
	if r.Type != NoType {
		t := r.Type
		rj.Type = &t
	}
	switch forType {
	case Sockets:
		rj.Sockets = nonNilStrings(r.Sockets)
	case RemoteFetch:
		f := r.Fetched
		if f == nil {
			f = []FetchedSocket{}
		}
		rj.Sockets = f
	case AllRooms:
		rj.Rooms = nonNilStrings(r.Rooms)
	case ServerSideEmit:
		rj.Data = r.Data
		if rj.Data == nil {
			rj.Data = json.RawMessage("null")
		}
	case BroadcastClientCount:
		n := r.ClientCount
		rj.ClientCount = &n
	case BroadcastAck:
		rj.Packet = r.Ack
		if rj.Packet == nil {
			rj.Packet = json.RawMessage("null")
		}
	}
	js, err := json.Marshal(rj)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	if forType != BroadcastAck {
		return js, nil
	}
	out, err := jsonToMsgpack(js, r.Attachments)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	return out, nil
}

// DecodeResponse reads an answer in either encoding.
func DecodeResponse(msg []byte) (Response, error) {
	js, atts, err := toJSON(msg)
	if err != nil {
		return Response{}, fmt.Errorf("redisadapter: response: %w", err)
	}
	var in struct {
		Type        *RequestType      `json:"type"`
		RequestID   json.RawMessage   `json:"requestId"`
		Sockets     []json.RawMessage `json:"sockets"`
		Rooms       rooms             `json:"rooms"`
		Data        json.RawMessage   `json:"data"`
		ClientCount int               `json:"clientCount"`
		Packet      json.RawMessage   `json:"packet"`
	}
	if err := json.Unmarshal(js, &in); err != nil {
		return Response{}, fmt.Errorf("redisadapter: response: %w", err)
	}
	r := Response{Type: NoType, RequestID: idText(in.RequestID), Rooms: in.Rooms, Data: in.Data, ClientCount: in.ClientCount}
	if r.RequestID == "" {
		return Response{}, errors.New("redisadapter: a response without a request id")
	}
	if in.Type != nil {
		r.Type = *in.Type
	}
	// "sockets" is a list of ids (Sockets) or of objects (RemoteFetch).
	for _, s := range in.Sockets {
		var id string
		if json.Unmarshal(s, &id) == nil {
			r.Sockets = append(r.Sockets, id)
			continue
		}
		var f FetchedSocket
		if err := json.Unmarshal(s, &f); err != nil {
			return Response{}, fmt.Errorf("redisadapter: a fetched socket: %w", err)
		}
		r.Fetched = append(r.Fetched, f)
	}
	if r.Type == BroadcastAck {
		r.Ack, r.Attachments = in.Packet, atts
	}
	return r, nil
}

// toJSON gives a request or response as JSON: as it is when it is JSON
// (the first byte is '{', the Node adapter's own test), converted from
// MessagePack otherwise.
func toJSON(msg []byte) ([]byte, [][]byte, error) {
	if len(msg) == 0 {
		return nil, nil, errors.New("an empty message")
	}
	if msg[0] == '{' {
		return msg, nil, nil
	}
	return msgpackToJSON(msg, nil)
}

// idText reads a request id: a string, or a number from a node that
// wrote one.
func idText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
