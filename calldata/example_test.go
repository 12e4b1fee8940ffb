package calldata_test

import (
	"fmt"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/grpcbench/grpcbench/calldata"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// Request data with a template is compiled once; each call appends its
// encoded message, the template rendered with the worker's seeded
// generator, so the same seed gives the same requests.
func ExampleCompile() {
	m, _ := methods.Builtin().Lookup("GetUser")
	req, err := calldata.Compile(m, map[string]any{"user_id": "u{{randomInt 1 1000}}", "response_padding": 16}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	md, err := calldata.CompileMetadata(map[string]string{"x-request-id": "w{{worker}}-c{{call}}-{{randomString 6}}"})
	if err != nil {
		fmt.Println(err)
		return
	}
	enc := req.NewEncoder()
	vars := &calldata.Vars{Worker: 2, Rand: rand.New(rand.NewPCG(42, 0))}
	var buf, scratch []byte
	var pairs []string
	for call := range 3 {
		vars.Call = int64(call)
		buf, err = enc.Append(buf[:0], call, vars)
		if err != nil {
			fmt.Println(err)
			return
		}
		var msg userpb.GetUserRequest
		if err := proto.Unmarshal(buf, &msg); err != nil {
			fmt.Println(err)
			return
		}
		pairs = md.AppendPairs(pairs[:0], vars, &scratch)
		fmt.Println(msg.GetUserId(), msg.GetResponsePadding(), pairs)
	}
	fmt.Println("constant:", req.Constant(), md.Constant())
	// Output:
	// u858 16 [x-request-id w2-c0-7IFL75]
	// u364 16 [x-request-id w2-c1-o7hlOP]
	// u688 16 [x-request-id w2-c2-kfNell]
	// constant: false false
}
