import Foundation

/// A real PostgreSQL server (Debian's, installed by scripts/setup) for one test: a new
/// cluster made by `initdb` in the test's folder, listening on a loopback port and on
/// a Unix socket in that folder, with a `trackd` role and database; stopped (and
/// optionally restarted) by the test. Run as root, the server runs as the `postgres`
/// user the package creates (`initdb` refuses root). Its processes name the test's
/// `trackd-test-` folder on their command line, so CI's leftover check sees them.
public final class TestPostgres {
    public let port: Int
    public let dataDirectory: String
    /// The folder holding the server's Unix socket.
    public let socketDirectory: String
    private let bin: String

    public enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case command([String], String)
        public var description: String {
            switch self {
            case .missing(let what): "\(what) is missing: run scripts/setup"
            case .command(let args, let output): "\(args.joined(separator: " ")) failed: \(output)"
            }
        }
    }

    /// Makes and starts a cluster under `folder` (a test's scratch folder).
    public init(in folder: URL, port: Int) throws {
        self.port = port
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else { throw Failure.missing("PostgreSQL") }
        bin = "/usr/lib/postgresql/\(version)/bin"
        let root = folder.appendingPathComponent("postgres-\(port)")
        dataDirectory = root.appendingPathComponent("data").path
        socketDirectory = root.path
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if geteuid() == 0 {
            // The server's user must reach its folders; the test's folder is root's.
            chmod(folder.path, 0o755)
            try run(["/bin/chown", "postgres:postgres", root.path], asServer: false)
        }
        try run([bin + "/initdb", "-D", dataDirectory, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
        try start()
        try run([
            bin + "/psql", "-h", socketDirectory, "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
            "-c", "CREATE ROLE trackd LOGIN", "-c", "CREATE DATABASE trackd OWNER trackd"
        ])
    }

    /// Starts the server (again) and waits until it accepts connections.
    public func start() throws {
        try run(
            daemon: true,
            [
                bin + "/pg_ctl", "-D", dataDirectory, "-l", dataDirectory + "/../server.log", "-w", "-t", "30",
                "-o", "-p \(port) -k \(socketDirectory) -c listen_addresses=127.0.0.1 -c fsync=off", "start"
            ])
    }

    /// The rows of a statement run as `trackd` in its database, one line each, columns
    /// separated by `|`.
    public func query(_ sql: String) throws -> [String] {
        try run([
            bin + "/psql", "-h", socketDirectory, "-p", String(port), "-U", "trackd", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql
        ])
        .split(separator: "\n").map(String.init)
    }

    /// Stops the server at once (`immediate`: as a crash would, connections cut).
    public func stop() {
        _ = try? run([bin + "/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
    }

    deinit { stop() }

    @discardableResult
    private func run(daemon: Bool = false, _ arguments: [String], asServer: Bool = true) throws -> String {
        var command = asServer && geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments : arguments
        // Foundation's Process learns that a child ended when a socket it hands the
        // child closes: a server the child leaves running would hold it open for good
        // (and the wait with it), so a daemon's starter gets no descriptor but 0-2.
        if daemon {
            command =
                [
                    "/usr/bin/python3", "-c",
                    "import os, sys; os.closerange(3, os.sysconf('SC_OPEN_MAX')); os.execv(sys.argv[1], sys.argv[1:])"
                ] + command
        }
        let result = try runProcess(command[0], Array(command.dropFirst()))
        guard result.status == 0 else {
            throw Failure.command(arguments, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }
}
