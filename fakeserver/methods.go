package fakeserver

import (
	"strings"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// methodID identifies a UserService method.
type methodID int

// The UserService methods, in a fixed order used to index counters.
const (
	mCreateUser methodID = iota
	mGetUser
	mListUsers
	mBatchCreateUsers
	mSyncUsers
	numMethods
)

var methodNames = [numMethods]string{"CreateUser", "GetUser", "ListUsers", "BatchCreateUsers", "SyncUsers"}

var fullMethodNames = [numMethods]string{
	userpb.UserService_CreateUser_FullMethodName,
	userpb.UserService_GetUser_FullMethodName,
	userpb.UserService_ListUsers_FullMethodName,
	userpb.UserService_BatchCreateUsers_FullMethodName,
	userpb.UserService_SyncUsers_FullMethodName,
}

// String returns the short method name, e.g. "GetUser".
func (m methodID) String() string {
	if m >= 0 && m < numMethods {
		return methodNames[m]
	}
	return "methodID(?)"
}

// IsStream reports whether the method streams in either direction.
func (m methodID) IsStream() bool {
	return m == mListUsers || m == mBatchCreateUsers || m == mSyncUsers
}

// parseMethod accepts a short name ("GetUser", case-insensitive) or a full
// gRPC method name.
func parseMethod(s string) (methodID, bool) {
	for i := range numMethods {
		if strings.EqualFold(s, methodNames[i]) || s == fullMethodNames[i] {
			return i, true
		}
	}
	return 0, false
}

func methodList() string { return strings.Join(methodNames[:], ", ") }
