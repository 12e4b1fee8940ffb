package fakeserver

import (
	"strings"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// Method identifies a UserService method.
type Method int

// The UserService methods, in a fixed order used to index counters.
const (
	CreateUser Method = iota
	GetUser
	ListUsers
	BatchCreateUsers
	SyncUsers
	numMethods
)

// Methods lists every UserService method.
var Methods = []Method{CreateUser, GetUser, ListUsers, BatchCreateUsers, SyncUsers}

var methodNames = [numMethods]string{"CreateUser", "GetUser", "ListUsers", "BatchCreateUsers", "SyncUsers"}

var fullMethodNames = [numMethods]string{
	userpb.UserService_CreateUser_FullMethodName,
	userpb.UserService_GetUser_FullMethodName,
	userpb.UserService_ListUsers_FullMethodName,
	userpb.UserService_BatchCreateUsers_FullMethodName,
	userpb.UserService_SyncUsers_FullMethodName,
}

// String returns the short method name, e.g. "GetUser".
func (m Method) String() string {
	if m >= 0 && m < numMethods {
		return methodNames[m]
	}
	return "Method(?)"
}

// FullName returns the gRPC method name, e.g. "/grpcbench.user.v1.UserService/GetUser".
func (m Method) FullName() string { return fullMethodNames[m] }

// IsStream reports whether the method streams in either direction.
func (m Method) IsStream() bool { return m == ListUsers || m == BatchCreateUsers || m == SyncUsers }

// ParseMethod accepts a short name ("GetUser", case-insensitive) or a full
// gRPC method name.
func ParseMethod(s string) (Method, bool) {
	for i := range numMethods {
		if strings.EqualFold(s, methodNames[i]) || s == fullMethodNames[i] {
			return i, true
		}
	}
	return 0, false
}

func methodList() string { return strings.Join(methodNames[:], ", ") }
