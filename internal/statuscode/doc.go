// Package statuscode names gRPC status codes the way the gRPC spec and
// service configs do ("UNAVAILABLE") and reads them back from the spellings
// users write.
package statuscode
