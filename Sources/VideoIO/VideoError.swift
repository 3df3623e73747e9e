import CFFmpeg

/// Why a video could not be opened or read, with FFmpeg's own message.
public struct VideoError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case fileNotFound
        case permissionDenied
        /// FFmpeg found no container it can read: empty file, text, random bytes.
        case notMediaFile
        case noVideoStream
        /// The video stream's codec has no decoder in this FFmpeg build.
        case unsupportedCodec
        /// Reading stopped before the end of the video (file cut short, damaged index
        /// or data); `framesDecoded` frames were delivered before it.
        case truncated
        /// A network source that refused or could not be reached (connection
        /// refused, no route, a name that does not resolve).
        case cannotConnect
        /// A network source that sent nothing within the wait limit.
        case timedOut
        /// Any other failure to open or read the source (device, I/O).
        case readFailed
        case invalidOption
        /// A video could not be encoded or written (`VideoWriter`).
        case writeFailed
    }

    public var kind: Kind
    /// The path or URL that was opened, without a URL's credentials.
    public var source: String
    /// FFmpeg's message, or trackd's where FFmpeg gave none.
    public var message: String
    /// FFmpeg's error code, when the error came from an FFmpeg call.
    public var code: Int32?
    /// Frames delivered before a `truncated` error.
    public var framesDecoded: Int?

    public init(_ kind: Kind, source: String, message: String, code: Int32? = nil, framesDecoded: Int? = nil) {
        self.kind = kind
        self.source = redactingCredentials(source)
        self.message = message
        self.code = code
        self.framesDecoded = framesDecoded
    }

    /// Classifies an FFmpeg error code from opening `source`. For a network source
    /// (`waitLimit`, its timeout in seconds), failures to connect and waits that ran
    /// out get their own kinds: FFmpeg reports an RTSP or UDP source that sent
    /// nothing as invalid data or an I/O error, so any failure that came after the
    /// whole wait limit counts as a timeout.
    init(opening source: String, code: Int32, waited: Double = 0, waitLimit: Double? = nil) {
        if let waitLimit {
            let message = FFError.message(code)
            switch code {
            case FFError.posix(ETIMEDOUT):
                self.init(.timedOut, source: source, message: message, code: code)
                return
            case FFError.posix(ECONNREFUSED), FFError.posix(EHOSTUNREACH), FFError.posix(ENETUNREACH),
                FFError.posix(ECONNRESET), FFError.posix(ECONNABORTED), FFError.posix(EHOSTDOWN):
                self.init(.cannotConnect, source: source, message: message, code: code)
                return
            case _ where waited >= waitLimit - 0.25 && code != FFError.exit:
                let seconds = waitLimit == waitLimit.rounded() ? String(Int(waitLimit)) : String(waitLimit)
                self.init(.timedOut, source: source, message: "nothing received in \(seconds) s (\(message))", code: code)
                return
            case FFError.posix(EIO):
                // What FFmpeg returns when a host name does not resolve.
                self.init(.cannotConnect, source: source, message: message, code: code)
                return
            default: break
            }
        }
        let kind: Kind
        switch code {
        case FFError.posix(ENOENT): kind = .fileNotFound
        case FFError.posix(EACCES), FFError.posix(EPERM): kind = .permissionDenied
        case FFError.invalidData, FFError.eof, FFError.demuxerNotFound, FFError.posix(EISDIR): kind = .notMediaFile
        case FFError.decoderNotFound: kind = .unsupportedCodec
        case FFError.streamNotFound: kind = .noVideoStream
        default: kind = .readFailed
        }
        if code == FFError.posix(ENOMEM), waitLimit == nil {
            // A damaged index that declares absurd sizes (an `stts` entry count in the
            // billions) makes FFmpeg refuse to allocate them.
            self.init(
                .truncated, source: source, message: "the container's index is damaged (\(FFError.message(code)))", code: code)
            return
        }
        if code == FFError.protocolNotFound, !source.contains("://") {
            // FFmpeg took a local name with a colon for protocol:rest (see ffmpegURL).
            self.init(.fileNotFound, source: source, message: "No such file or directory", code: code)
            return
        }
        self.init(kind, source: source, message: FFError.message(code), code: code)
    }

    public var description: String {
        let what: String
        switch kind {
        case .fileNotFound: what = "file not found"
        case .permissionDenied: what = "permission denied"
        case .notMediaFile: what = "not a media file"
        case .noVideoStream: what = "no video stream"
        case .unsupportedCodec: what = "unsupported codec"
        case .truncated: what = "truncated or corrupt video"
        case .cannotConnect: what = "cannot connect"
        case .timedOut: what = "timed out"
        case .readFailed: what = "cannot read"
        case .invalidOption: what = "invalid option"
        case .writeFailed: what = "cannot write"
        }
        return "\(source): \(what): \(message)"
    }
}
