import CFFmpeg
import Glibc

/// FFmpeg's error codes that the reader acts on. They are macros in C, so the
/// shim header turns them into functions.
enum FFError {
    static let eof = trackd_averror_eof()
    static let again = trackd_averror_eagain()
    static let invalidData = trackd_averror_invaliddata()
    static let decoderNotFound = trackd_averror_decoder_not_found()
    static let streamNotFound = trackd_averror_stream_not_found()
    static let demuxerNotFound = trackd_averror_demuxer_not_found()
    static let protocolNotFound = trackd_averror_protocol_not_found()
    static let exit = trackd_averror_exit()

    static func posix(_ errno: Int32) -> Int32 { trackd_averror(errno) }

    /// FFmpeg's own text for an error code, as `av_err2str` gives it in C.
    static func message(_ code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            trackd_strerror(code, buffer.baseAddress, buffer.count)
            return String(cString: buffer.baseAddress!)
        }
    }
}

let noPTS = trackd_nopts_value()

/// How much FFmpeg itself prints to stderr. trackd reports problems through its own
/// errors, so command-line use keeps FFmpeg quiet unless asked otherwise.
public enum FFmpegLogLevel: Sendable {
    case quiet, error, warning, info, debug

    /// Sets FFmpeg's process-wide log level.
    public func apply() {
        let value: Int32
        switch self {
        case .quiet: value = AV_LOG_QUIET
        case .error: value = AV_LOG_ERROR
        case .warning: value = AV_LOG_WARNING
        case .info: value = AV_LOG_INFO
        case .debug: value = AV_LOG_DEBUG
        }
        av_log_set_level(value)
    }
}

extension String {
    /// A Swift string from an optional C string, or `fallback` when it is NULL.
    init(cString pointer: UnsafePointer<CChar>?, or fallback: String) {
        self = pointer.map { String(cString: $0) } ?? fallback
    }
}

/// What FFmpeg is asked to open for `path`. FFmpeg reads anything before a colon as
/// a protocol, so a file whose name has one (`12:30.mp4`) is named through the file
/// protocol: when it exists (`existing`, for reading), or always (for a file to be
/// written). URLs (`scheme://`) and names without a colon are passed as given.
func ffmpegURL(_ path: String, existing: Bool) -> String {
    guard path.contains(":"), !path.contains("://"), !existing || access(path, F_OK) == 0 else { return path }
    return "file:" + path
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
