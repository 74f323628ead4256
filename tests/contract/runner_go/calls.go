// calls.go - the call, stream and pages ops through the Go client
// (mnemo.dev/client/go): every unary RPC through the generated methods the
// Client promotes, the two streams through Client.Sync and Client.Watch.
// Requests are parsed from the cases' proto3 JSON with protojson and results
// written back with proto names and every default field.
package main

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/runtime/protoimpl"

	mnemo "mnemo.dev/client/go"
	"mnemo.dev/client/go/mnemov1"
)

// codeNames are the canonical names the cases use; Go's codes.Code spells
// some differently ("Canceled", "DeadlineExceeded").
var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func statusOf(err error) outcome {
	s := status.Convert(err)
	return outcome{code: codeNames[s.Code()], message: s.Message()}
}

// v2 is the APIv2 view of a message; grpc-go 1.33's health messages are
// generated for the old API.
func v2(m interface{}) proto.Message {
	if pm, ok := m.(proto.Message); ok {
		return pm
	}
	return protoimpl.X.ProtoMessageV2Of(m)
}

// unaryMethod: a fresh request and the call that sends it.
type unaryMethod struct {
	newReq func() interface{}
	call   func(ctx context.Context, req interface{}) (interface{}, error)
}

func unary[Req any, Res any](f func(context.Context, *Req, ...grpc.CallOption) (*Res, error)) unaryMethod {
	return unaryMethod{
		newReq: func() interface{} { return new(Req) },
		call: func(ctx context.Context, req interface{}) (interface{}, error) {
			return f(ctx, req.(*Req))
		},
	}
}

func unaryMethods(c *mnemo.Client) map[string]unaryMethod {
	return map[string]unaryMethod{
		"mnemo.v1.MemoryService/StoreMemory":          unary(c.StoreMemory),
		"mnemo.v1.MemoryService/GetMemory":            unary(c.GetMemory),
		"mnemo.v1.MemoryService/DeleteMemory":         unary(c.DeleteMemory),
		"mnemo.v1.MemoryService/ListMemories":         unary(c.ListMemories),
		"mnemo.v1.MemoryService/RetrieveMemory":       unary(c.RetrieveMemory),
		"mnemo.v1.MemoryService/SearchByTag":          unary(c.SearchByTag),
		"mnemo.v1.RepositoryService/GetSyncStatus":    unary(c.GetSyncStatus),
		"mnemo.v1.RepositoryService/CancelSync":       unary(c.CancelSync),
		"mnemo.v1.RepositoryService/ListRepositories": unary(c.ListRepositories),
		"mnemo.v1.RepositoryService/DeleteRepository": unary(c.DeleteRepository),
		"mnemo.v1.RepositoryService/SearchCode":       unary(c.SearchCode),
		"grpc.health.v1.Health/Check":                 unary(c.Health.Check),
	}
}

// fromJSON fills msg from a decoded JSON request.
func fromJSON(request interface{}, msg proto.Message) error {
	b, err := json.Marshal(request)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(b, msg); err != nil {
		return failf("request: %v", err)
	}
	return nil
}

// toJSON is msg as a result tree: proto names, defaults included.
func toJSON(msg proto.Message) (interface{}, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var v interface{}
	return v, json.Unmarshal(b, &v)
}

type runner struct {
	client  *mnemo.Client
	methods map[string]unaryMethod
}

func (r *runner) unaryCall(method string, request interface{}, timeout time.Duration) (outcome, error) {
	m, ok := r.methods[method]
	if !ok {
		return outcome{}, failf("no client method for %s", method)
	}
	req := m.newReq()
	if err := fromJSON(request, v2(req)); err != nil {
		return outcome{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := m.call(ctx, req)
	if err != nil {
		return statusOf(err), nil
	}
	tree, err := toJSON(v2(res))
	return outcome{code: "OK", result: tree}, err
}

func (r *runner) opStream(step map[string]interface{}, request interface{}, timeout time.Duration) (outcome, error) {
	method, _ := step["method"].(string)
	cancelAfter, _ := step["cancel_after"].(float64)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var events []interface{}
	var convErr error
	progress := func(ev *mnemov1.SyncEvent) {
		tree, err := toJSON(ev)
		if err != nil && convErr == nil {
			convErr = err
		}
		events = append(events, tree)
		if len(events) == int(cancelAfter) {
			cancel()
		}
	}
	var err error
	switch method {
	case "mnemo.v1.RepositoryService/SyncRepository":
		req := &mnemov1.SyncRepositoryRequest{}
		if err := fromJSON(request, req); err != nil {
			return outcome{}, err
		}
		_, err = r.client.Sync(ctx, req, progress)
	case "mnemo.v1.RepositoryService/WatchSync":
		req := &mnemov1.WatchSyncRequest{}
		if err := fromJSON(request, req); err != nil {
			return outcome{}, err
		}
		_, err = r.client.Watch(ctx, req.RepositoryName, progress)
	default:
		return outcome{}, failf("no stream method for %s", method)
	}
	got := outcome{code: "OK"}
	if err != nil {
		got = statusOf(err)
	}
	if events == nil {
		events = []interface{}{}
	}
	got.result = map[string]interface{}{"events": events}
	return got, convErr
}

func (r *runner) opPages(step map[string]interface{}, request interface{}, timeout time.Duration) (outcome, error) {
	method, _ := step["method"].(string)
	field, _ := step["items"].(string)
	base, _ := request.(map[string]interface{})
	req := map[string]interface{}{}
	for k, v := range base {
		req[k] = v
	}
	items := []interface{}{}
	for pages := 1; pages <= 1000; pages++ {
		got, err := r.unaryCall(method, req, timeout)
		if err != nil || got.code != "OK" {
			got.result = map[string]interface{}{"pages": float64(pages), "items": items}
			return got, err
		}
		res, _ := got.result.(map[string]interface{})
		page, _ := res[field].([]interface{})
		items = append(items, page...)
		token, _ := res["next_page_token"].(string)
		if token == "" {
			return outcome{code: "OK", result: map[string]interface{}{"pages": float64(pages), "items": items}}, nil
		}
		req["page_token"] = token
	}
	return outcome{}, failf("pages: more than 1000 calls")
}
