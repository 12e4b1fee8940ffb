package fakeserver

import (
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// epoch is the creation time of synthesised user 0; user i was created i
// seconds later, so synthesised users are the same in every run.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// zeros backs every padding field: marshalling only reads it, so one shared
// buffer serves all responses without allocation.
var zeros = make([]byte, MaxPadding)

func padding(n int32) []byte {
	if n <= 0 {
		return nil
	}
	return zeros[:min(int(n), MaxPadding)]
}

// store is a bounded, lock-free user store: a ring of slots indexed by id.
// Creating more users than slots overwrites the oldest, so memory does not
// grow with load.
type store struct {
	slots  []atomic.Pointer[userpb.User]
	nextID atomic.Int64
}

func newStore(size int) *store {
	s := &store{slots: make([]atomic.Pointer[userpb.User], size)}
	// Ids of created users start above the synthesised range a test is
	// likely to ask for, so both are told apart.
	s.nextID.Store(1_000_000)
	return s
}

// create stores a new user and returns it.
func (s *store) create(req *userpb.CreateUserRequest) *userpb.User {
	n := s.nextID.Add(1)
	u := &userpb.User{
		Id:        userID(n),
		Username:  req.GetUsername(),
		Email:     req.GetEmail(),
		FullName:  req.GetFullName(),
		CreatedAt: timestamppb.Now(),
	}
	s.slots[int(n%int64(len(s.slots)))].Store(u)
	return u
}

// userID formats the id of user n: "u42".
func userID(n int64) string { return "u" + strconv.FormatInt(n, 10) }

// userNum parses a user id back to its number. Ids not made by userID map
// to a number derived from their bytes (FNV-1a), so any id gets the same
// synthesised user every time.
func userNum(id string) int64 {
	if len(id) > 1 && id[0] == 'u' {
		if n, err := strconv.ParseInt(id[1:], 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return int64(h >> 1)
}

// get returns the stored user with the id, or a deterministic synthesised
// one when it is not (or no longer) stored. The returned user must not be
// modified.
func (s *store) get(id string) *userpb.User {
	n := userNum(id)
	if u := s.slots[int(n%int64(len(s.slots)))].Load(); u != nil && u.Id == id {
		return u
	}
	return synth(n)
}

// synth builds user n deterministically.
func synth(n int64) *userpb.User {
	ns := strconv.FormatInt(n, 10)
	return &userpb.User{
		Id:        userID(n),
		Username:  "user" + ns,
		Email:     "user" + ns + "@example.test",
		FullName:  "User " + ns,
		CreatedAt: timestamppb.New(epoch.Add(time.Duration(n%(100*365*86400)) * time.Second)),
	}
}

// withPadding returns u, or a shallow copy carrying n bytes of padding.
func withPadding(u *userpb.User, n int32) *userpb.User {
	if n <= 0 {
		return u
	}
	return &userpb.User{Id: u.Id, Username: u.Username, Email: u.Email, FullName: u.FullName,
		CreatedAt: u.CreatedAt, Padding: padding(n)}
}
