// cpp_server.cc - the C++ baseline of figure 3: a minimal gRPC C++ sync
// server on the same gRPC release as mnemod, serving mnemo.v1.MemoryService
// GetMemory from an in-memory map and grpc.health.v1.Health/Check through
// gRPC's default health check service.
//
// DESIGN: what a C++ developer writes in an afternoon with grpc++: the
// generated MemoryService::Service with one override, ServerBuilder with
// default options (sync server, its default thread pool), and
// EnableDefaultHealthCheckService. The memories come from a file of
// Memory messages, each preceded by its 4-byte big-endian length (written by
// mnemo-bench from mnemod's own answers, so both servers return the same
// bytes). Prints "listening on HOST:PORT" on stdout once serving; SIGTERM or
// SIGINT shuts it down; it dies with its parent (PR_SET_PDEATHSIG).
//
// Usage: mnemo-bench-cpp-server --listen HOST:PORT --memories FILE
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>

#include <pthread.h>
#include <sys/prctl.h>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "mnemo/v1/memory.grpc.pb.h"

namespace {

class MemoryService final : public mnemo::v1::MemoryService::Service {
  public:
    explicit MemoryService(std::unordered_map<std::string, mnemo::v1::Memory> memories)
        : memories_(std::move(memories))
    {
    }

    grpc::Status GetMemory(grpc::ServerContext *, const mnemo::v1::GetMemoryRequest *req,
                           mnemo::v1::Memory *resp) override
    {
        auto it = memories_.find(req->id());
        if (it == memories_.end())
            return grpc::Status(grpc::StatusCode::NOT_FOUND, "id: no such memory");
        *resp = it->second;
        return grpc::Status::OK;
    }

  private:
    const std::unordered_map<std::string, mnemo::v1::Memory> memories_;
};

bool load(const char *path, std::unordered_map<std::string, mnemo::v1::Memory> *out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    unsigned char len[4];
    while (in.read(reinterpret_cast<char *>(len), 4)) {
        size_t n = (size_t(len[0]) << 24) | (size_t(len[1]) << 16) | (size_t(len[2]) << 8) | len[3];
        std::string bytes(n, '\0');
        if (!in.read(&bytes[0], static_cast<std::streamsize>(n)))
            return false;
        mnemo::v1::Memory m;
        if (!m.ParseFromString(bytes))
            return false;
        (*out)[m.id()] = m;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const char *listen = "127.0.0.1:0";
    const char *file = nullptr;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--listen") == 0)
            listen = argv[i + 1];
        else if (std::strcmp(argv[i], "--memories") == 0)
            file = argv[i + 1];
    }
    std::unordered_map<std::string, mnemo::v1::Memory> memories;
    if (file != nullptr && !load(file, &memories)) {
        std::cerr << "cpp_server: cannot load " << file << "\n";
        return 2;
    }
    // Signals are taken by sigwait on this thread; gRPC's threads inherit the mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    grpc::EnableDefaultHealthCheckService(true);
    MemoryService service(std::move(memories));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
        std::cerr << "cpp_server: cannot listen on " << listen << "\n";
        return 1;
    }
    std::string host(listen, std::strrchr(listen, ':') - listen);
    std::printf("listening on %s:%d\n", host.c_str(), port);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    server->Shutdown();
    return 0;
}
