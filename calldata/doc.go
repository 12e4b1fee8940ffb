// Package calldata turns what a scenario says a call should send — request
// data, per-call templates and metadata — into bytes, once, before any load.
//
// # Data
//
// Request data is a tree of maps, lists and scalars (a YAML mapping, or JSON)
// converted with protojson into the method's input type. Before that it is
// checked field by field against the descriptor, so a field the message
// lacks or a value of the wrong type is an error naming the path inside the
// message ("user.nam: the message shop.v1.User has no field \"nam\" (did you
// mean \"name\"?)"). Client-streaming and bidi methods take a list of
// messages, cycled over the stream's length.
//
// # Templates
//
// Strings in data and metadata values may hold actions between {{ and }}:
//
//	{{call}}              the call's number in the cell, from 0
//	{{worker}}            the worker's number, from 0
//	{{cell}}              the cell's ID, e.g. "pool.size=4#1"
//	{{repeat}}            the repeat, from 1
//	{{randomInt A B}}     a random integer in [A, B]
//	{{randomString N}}    N random characters from [A-Za-z0-9]
//	{{uuid}}              a random version-4 UUID
//	{{intended}}          the intended start time, RFC 3339 with nanoseconds, UTC
//	{{intendedUnixMilli}} the intended start time in Unix milliseconds
//
// Random values come from the worker's generator, seeded by the scenario's
// seed, so the same seed gives the same sequence. Templates are parsed once
// into a list of literal and action segments; a call appends their output to
// a reused buffer. Nothing evaluates a template language per call.
//
// # Encoding
//
// Data with no template is encoded once; every call sends the same bytes. In
// data with templates the constant part is encoded once and each templated
// scalar field (a string, bytes, number, bool or enum, in the message or in a
// singular message field nested in it) is appended to it per call — protobuf
// lets a field follow the others, and a repeated occurrence of an embedded
// message merges into the first. A template inside a repeated field, a map or
// a well-known type (Timestamp, Duration, Struct…) is rendered into the data
// tree and re-encoded on every call instead: correct, but tens of
// microseconds a call.
package calldata
