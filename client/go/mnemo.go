// Package mnemo is a Go client for mnemod, mnemo's memory and code-index
// gRPC service.
//
// The generated API lives in mnemo.dev/client/go/mnemov1 (made from
// proto/mnemo/v1 at build time by build.sh). This package adds only what
// every caller would otherwise write again: Dial with a bearer token and TLS,
// one Client for both services and health, and Sync/Watch helpers that hand
// each progress event to a callback and stop when the context is cancelled.
//
// Errors are gRPC status errors, unchanged: status.Code(err) is
// codes.NotFound, codes.InvalidArgument, ... and status.Convert(err).Message()
// the details mnemod wrote (it names the field and the problem).
package mnemo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"mnemo.dev/client/go/mnemov1"
)

// Client is a connection to one mnemod. Both services' methods are promoted
// from the generated clients: c.StoreMemory(ctx, req), c.SearchCode(ctx, req).
// Safe for concurrent use.
type Client struct {
	mnemov1.MemoryServiceClient
	mnemov1.RepositoryServiceClient
	Health healthpb.HealthClient
	conn   *grpc.ClientConn
}

type options struct {
	token string
	tls   *tls.Config
	extra []grpc.DialOption
}

// Option configures Dial.
type Option func(*options)

// WithToken sends `authorization: Bearer <token>` on every call (mnemod
// --auth-tokens). Allowed without TLS, which mnemod accepts on loopback.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// WithTLS turns TLS on with this configuration (see TLSConfig).
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls = cfg }
}

// WithDialOptions passes further options to grpc.Dial.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

// TLSConfig builds a TLS configuration from PEM files: caFile signs
// mnemod's certificate ("" for the system's roots); certFile and keyFile are
// a client certificate for mutual TLS (both or neither); serverName is the
// name to verify when it is not the host dialled ("" otherwise).
func TLSConfig(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// bearer implements credentials.PerRPCCredentials. The token is never
// printed: the type has no String method that would show it.
type bearer struct{ header map[string]string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return b.header, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// Dial connects to mnemod at address (host:port). Like grpc.Dial it does
// not wait for the connection: the first call does.
func Dial(address string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dial := append([]grpc.DialOption{}, o.extra...)
	if o.tls != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(o.tls)))
	} else {
		// grpc-go 1.33 (Debian 12) has no insecure.NewCredentials() yet.
		dial = append(dial, grpc.WithInsecure())
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(
			bearer{map[string]string{"authorization": "Bearer " + o.token}}))
	}
	conn, err := grpc.Dial(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{
		MemoryServiceClient:     mnemov1.NewMemoryServiceClient(conn),
		RepositoryServiceClient: mnemov1.NewRepositoryServiceClient(conn),
		Health:                  healthpb.NewHealthClient(conn),
		conn:                    conn,
	}, nil
}

// Close closes the connection; calls in flight fail with codes.Canceled.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Conn is the underlying connection, for other generated clients.
func (c *Client) Conn() *grpc.ClientConn {
	return c.conn
}

// Check asks grpc.health.v1 about service ("" for the whole server).
func (c *Client) Check(ctx context.Context, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	res, err := c.Health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN, err
	}
	return res.Status, nil
}

// Sync runs SyncRepository and calls progress (may be nil) with each event,
// in order, on the caller's goroutine. It returns the last status the stream
// carried (COMPLETED, FAILED, CANCELLED, or PENDING/RUNNING for a
// background sync, whose stream ends at once) and the stream's error.
//
// Cancelling ctx cancels the call: a foreground sync stops at its next
// batch boundary and then reads CANCELLED on the server (GetSyncStatus),
// and Sync returns an error with status.Code(err) == codes.Canceled (or
// codes.DeadlineExceeded when ctx's deadline passed) together with the last
// status it had seen.
func (c *Client) Sync(ctx context.Context, req *mnemov1.SyncRepositoryRequest,
	progress func(*mnemov1.SyncEvent)) (*mnemov1.SyncStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the call if progress panics
	stream, err := c.SyncRepository(ctx, req)
	if err != nil {
		return nil, err
	}
	return follow(stream, progress)
}

// Watch attaches to the running sync of a repository (WatchSync) and
// follows it as Sync does; cancelling ctx stops watching, not the sync.
func (c *Client) Watch(ctx context.Context, repositoryName string,
	progress func(*mnemov1.SyncEvent)) (*mnemov1.SyncStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchSync(ctx, &mnemov1.WatchSyncRequest{RepositoryName: repositoryName})
	if err != nil {
		return nil, err
	}
	return follow(stream, progress)
}

type eventStream interface {
	Recv() (*mnemov1.SyncEvent, error)
}

func follow(stream eventStream, progress func(*mnemov1.SyncEvent)) (*mnemov1.SyncStatus, error) {
	var last *mnemov1.SyncStatus
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, err
		}
		last = ev.GetStatus()
		if progress != nil {
			progress(ev)
		}
	}
}
