// reflect.go - list_services and reflect_call: grpc.reflection.v1 only.
// grpc-go 1.33 ships the v1alpha messages, which are v1's field for field
// under another package, so they are sent on v1's method path. reflect_call
// builds the method's types from the returned FileDescriptorProtos (and
// the files they import, asked for by name) with protodesc and dynamicpb,
// and calls it by path: no compiled-in mnemo type is used.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

const reflectionPath = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"

// reflect sends the requests on one stream and returns the responses.
func (r *runner) reflect(ctx context.Context, reqs []*rpb.ServerReflectionRequest) ([]*rpb.ServerReflectionResponse, error) {
	desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
	stream, err := r.client.Conn().NewStream(ctx, desc, reflectionPath)
	if err != nil {
		return nil, err
	}
	for _, q := range reqs {
		if err := stream.SendMsg(q); err != nil {
			return nil, err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	var out []*rpb.ServerReflectionResponse
	for {
		resp := &rpb.ServerReflectionResponse{}
		err := stream.RecvMsg(resp)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e := resp.GetErrorResponse(); e != nil {
			return nil, status.Error(codes.Code(e.ErrorCode), e.ErrorMessage)
		}
		out = append(out, resp)
	}
}

func (r *runner) opListServices(timeout time.Duration) (outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resps, err := r.reflect(ctx, []*rpb.ServerReflectionRequest{
		{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}})
	if err != nil {
		return statusOf(err), nil
	}
	services := []interface{}{}
	for _, s := range resps[0].GetListServicesResponse().GetService() {
		services = append(services, s.Name)
	}
	return outcome{code: "OK", result: map[string]interface{}{"services": services}}, nil
}

// files returns the registry of the file defining symbol and its imports.
func (r *runner) files(ctx context.Context, symbol string) (*protoregistry.Files, error) {
	got := map[string]*descriptorpb.FileDescriptorProto{}
	ask := []*rpb.ServerReflectionRequest{{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}}
	for len(ask) > 0 {
		resps, err := r.reflect(ctx, ask)
		if err != nil {
			return nil, err
		}
		for _, resp := range resps {
			for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
				fd := &descriptorpb.FileDescriptorProto{}
				if err := proto.Unmarshal(b, fd); err != nil {
					return nil, err
				}
				got[fd.GetName()] = fd
			}
		}
		ask = nil
		for _, fd := range got {
			for _, dep := range fd.Dependency {
				if got[dep] == nil {
					ask = append(ask, &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep}})
				}
			}
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range got {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, failf("reflection descriptors: %v", err)
	}
	return files, nil
}

func (r *runner) opReflectCall(step map[string]interface{}, request interface{}, timeout time.Duration) (outcome, error) {
	method, _ := step["method"].(string)
	service, name, _ := strings.Cut(method, "/")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	files, err := r.files(ctx, service)
	if err != nil {
		if _, ok := err.(stepFailure); ok {
			return outcome{}, err
		}
		return statusOf(err), nil
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(service))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok || sd.Methods().ByName(protoreflect.Name(name)) == nil {
		return outcome{}, failf("reflection did not describe %s", method)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	req := dynamicpb.NewMessage(md.Input())
	if err := fromJSON(request, req); err != nil {
		return outcome{}, err
	}
	res := dynamicpb.NewMessage(md.Output())
	if err := r.client.Conn().Invoke(ctx, fmt.Sprintf("/%s/%s", service, name), req, res); err != nil {
		return statusOf(err), nil
	}
	tree, err := toJSON(res)
	return outcome{code: "OK", result: tree}, err
}
