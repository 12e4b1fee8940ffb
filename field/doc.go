// Package field reports problems with configuration values by field path.
//
// Every configurable layer of grpcbench (client, pool, lb, retry, breaker,
// fakeserver, …) validates its plain configuration struct with a
// Validate() error method. The errors it returns are *Error values — a dotted
// path relative to the struct ("max_attempts", "codes[2]") and a message —
// joined with errors.Join when there are several. A caller that embeds the
// struct in a larger configuration puts its own prefix in front with Prefix;
// a file loader attaches file and line to each path.
//
// Users of the layers outside grpcbench match them with errors.As:
//
//	var fe *field.Error
//	if errors.As(err, &fe) {
//		fmt.Println(fe.Path, fe.Msg)
//	}
package field
