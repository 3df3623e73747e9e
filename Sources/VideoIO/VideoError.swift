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
        /// Any other failure to open or read the source (network, device, I/O).
        case readFailed
        case invalidOption
        /// A video could not be encoded or written (`VideoWriter`).
        case writeFailed
    }

    public var kind: Kind
    /// The path or URL that was opened.
    public var source: String
    /// FFmpeg's message, or trackd's where FFmpeg gave none.
    public var message: String
    /// FFmpeg's error code, when the error came from an FFmpeg call.
    public var code: Int32?
    /// Frames delivered before a `truncated` error.
    public var framesDecoded: Int?

    public init(_ kind: Kind, source: String, message: String, code: Int32? = nil, framesDecoded: Int? = nil) {
        self.kind = kind
        self.source = source
        self.message = message
        self.code = code
        self.framesDecoded = framesDecoded
    }

    /// Classifies an FFmpeg error code from opening `source`.
    init(opening source: String, code: Int32) {
        let kind: Kind
        switch code {
        case FFError.posix(ENOENT): kind = .fileNotFound
        case FFError.posix(EACCES), FFError.posix(EPERM): kind = .permissionDenied
        case FFError.invalidData, FFError.eof, FFError.demuxerNotFound, FFError.posix(EISDIR): kind = .notMediaFile
        case FFError.decoderNotFound: kind = .unsupportedCodec
        case FFError.streamNotFound: kind = .noVideoStream
        default: kind = .readFailed
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
        case .readFailed: what = "cannot read"
        case .invalidOption: what = "invalid option"
        case .writeFailed: what = "cannot write"
        }
        return "\(source): \(what): \(message)"
    }
}
