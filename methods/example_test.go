package methods_test

import (
	"fmt"

	"github.com/grpcbench/grpcbench/methods"
)

// Builtin is the compiled-in UserService; Lookup takes the names a user
// writes, short or full, and says what a mistyped one may have meant.
func ExampleSet_Lookup() {
	set := methods.Builtin()
	for _, name := range []string{"GetUser", "UserService/SyncUsers", "/grpcbench.user.v1.UserService/ListUsers"} {
		m, err := set.Lookup(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s, %s → %s\n", m.Name(), m.Kind(), m.Input().FullName(), m.Output().FullName())
	}
	_, err := set.Lookup("GetUsr")
	fmt.Println(err)
	// Output:
	// grpcbench.user.v1.UserService/GetUser: unary, grpcbench.user.v1.GetUserRequest → grpcbench.user.v1.GetUserResponse
	// grpcbench.user.v1.UserService/SyncUsers: bidi, grpcbench.user.v1.SyncUserRequest → grpcbench.user.v1.SyncUserResponse
	// grpcbench.user.v1.UserService/ListUsers: server_stream, grpcbench.user.v1.ListUsersRequest → grpcbench.user.v1.User
	// unknown method "GetUsr" in the built-in UserService (did you mean "grpcbench.user.v1.UserService/GetUser"?); it has: grpcbench.user.v1.UserService/CreateUser, grpcbench.user.v1.UserService/GetUser, grpcbench.user.v1.UserService/ListUsers, grpcbench.user.v1.UserService/BatchCreateUsers, grpcbench.user.v1.UserService/SyncUsers
}
