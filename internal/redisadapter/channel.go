package redisadapter

import "strings"

// DefaultKey is the prefix of every channel, the Node adapter's "key"
// option, "socket.io" unless the application chose another.
const DefaultKey = "socket.io"

// The channels of one namespace, for key "socket.io" and namespace "/":
//
//	socket.io#/#            broadcasts to the whole namespace, or to several rooms
//	socket.io#/#news#       broadcasts to exactly one room ("news")
//	socket.io-request#/#    requests: serverSideEmit, fetchSockets, socketsJoin, …
//	socket.io-response#/#   their answers
//	socket.io-response#/#UID#   answers for one node only (an option of the Node adapter)
//
// A node PSUBSCRIBEs to BroadcastPattern ("socket.io#/#*") and SUBSCRIBEs
// to the other three. The count of subscribers to the request channel is
// how the Node adapter learns how many servers there are (PUBSUB NUMSUB),
// so a Go node that did not subscribe there would not be counted.

// BroadcastChannel is where a broadcast to the namespace, or to more than
// one room, is published.
func BroadcastChannel(key, nsp string) string { return key + "#" + nsp + "#" }

// RoomChannel is where a broadcast to exactly one room is published. A
// node that has no member of that room can drop it without decoding it.
func RoomChannel(key, nsp, room string) string { return BroadcastChannel(key, nsp) + room + "#" }

// BroadcastPattern matches both of the above (a PSUBSCRIBE pattern).
func BroadcastPattern(key, nsp string) string { return BroadcastChannel(key, nsp) + "*" }

// RequestChannel carries the requests between nodes of one namespace.
func RequestChannel(key, nsp string) string { return key + "-request#" + nsp + "#" }

// ResponseChannel carries the answers to them.
func ResponseChannel(key, nsp string) string { return key + "-response#" + nsp + "#" }

// SpecificResponseChannel carries the answers meant for node uid only.
func SpecificResponseChannel(key, nsp, uid string) string {
	return ResponseChannel(key, nsp) + uid + "#"
}

// PublishChannel is the channel a broadcast with these options goes to:
// the room's own channel when it names exactly one room, as the Node
// adapter chooses it.
func PublishChannel(key, nsp string, opts BroadcastOptions) string {
	if len(opts.Rooms) == 1 {
		return RoomChannel(key, nsp, opts.Rooms[0])
	}
	return BroadcastChannel(key, nsp)
}

// ChannelRoom tells what a channel that BroadcastPattern(key, nsp) matched
// names: room is "" for the namespace's own channel, the room for a
// room's channel; ok is false for a channel of another namespace.
func ChannelRoom(key, nsp, channel string) (room string, ok bool) {
	rest, found := strings.CutPrefix(channel, BroadcastChannel(key, nsp))
	if !found {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	room, found = strings.CutSuffix(rest, "#")
	if !found {
		return "", false
	}
	return room, true
}
