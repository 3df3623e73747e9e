import ArgumentParser
import Foundation
import Pipeline
import VideoIO

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a video file or stream holds.",
        discussion: """
            Prints the container, codec, picture size, frame rate and duration of the
            video stream trackd would read. With --count, decodes the whole stream (on
            one thread, so that a damaged stream gives the same count every time) and
            prints the exact number of decodable frames; damaged frames that were
            skipped are counted too. A video that ends early (cut short or damaged)
            prints what was counted, then an error, and exits with status 1. A source
            that gives nothing for --stall-seconds (a server that trickles a byte a
            second never trips the network timeout) is given up with an error.
            """
    )

    @Argument(help: "A video file, or any URL FFmpeg opens (rtsp://, http://, ...).")
    var video: String

    @Option(
        name: [.customShort("o"), .customLong("input-option")],
        help: ArgumentHelp(
            "An option for FFmpeg's demuxer or protocol, as before -i on the ffmpeg command line (repeatable).",
            valueName: "key=value"))
    var inputOptions: [String] = []

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Decode every frame to count them exactly.")
    var count = false

    @Option(
        name: .customLong("stall-seconds"),
        help: ArgumentHelp(
            "Give up when the source gives no stream information (while opening) or no frame (with --count) for this long.",
            valueName: "seconds"))
    var stallSeconds: Double = 30

    func validate() throws {
        guard stallSeconds > 0, stallSeconds.isFinite else { throw ValidationError("--stall-seconds must be positive") }
    }

    func run() throws {
        CLI.quietFFmpeg()
        var options = FrameReader.Options()
        options.formatOptions = try CLI.keyValues(inputOptions, option: "--input-option")
        // With several decoder threads, which frames of a damaged stream decode
        // depends on their timing: one thread gives the same count every run.
        if count { options.decoderThreads = 1 }
        // FFmpeg asks the interrupt callback from inside every wait on the source.
        let progress = Locked(monotonicSeconds())
        let limit = stallSeconds
        options.interrupt = { monotonicSeconds() - progress.value > limit }
        let stalled = GaveUp(
            description: "\(redactingCredentials(video)): gave up: nothing usable received in \(limit) s (--stall-seconds)")
        let reader: FrameReader
        do {
            reader = try FrameReader(video, options: options)
        } catch {
            throw CLI.failure(monotonicSeconds() - progress.value > limit ? stalled : error)
        }
        progress.value = monotonicSeconds()
        var report = ProbeReport(reader.info)
        var failure: (any Error)?
        if count {
            do {
                while try reader.nextFrameInfo() != nil { progress.value = monotonicSeconds() }
            } catch {
                failure = monotonicSeconds() - progress.value > limit ? stalled : error
            }
            report.frames = reader.stats.framesDelivered
            report.corruptPackets = reader.stats.corruptPackets
            report.corruptFrames = reader.stats.corruptFrames
            report.repairedTimes = reader.stats.repairedTimes
            report.missingFrames = reader.stats.missingFrames
            report.error = failure.map { String(describing: $0) }
        }
        print(json ? CLI.json(report) : report.text())
        if let failure { throw CLI.failure(failure) }
    }
}

/// A source that gave nothing usable for `--stall-seconds`.
private struct GaveUp: Error, CustomStringConvertible {
    let description: String
}

/// `probe`'s output, for people and for scripts.
struct ProbeReport: Encodable {
    var source: String
    var container: String
    var containerLongName: String
    var codec: String
    var codecLongName: String
    var profile: String?
    var pixelFormat: String?
    var width: Int
    var height: Int
    var frameRate: Double?
    var frameRateRational: String?
    var timeBase: String
    var duration: Double?
    var declaredFrames: Int?
    var audioStreams: Int
    var rotation: Int
    var frames: Int?
    var corruptPackets: Int?
    var corruptFrames: Int?
    var repairedTimes: Int?
    var missingFrames: Int?
    var error: String?

    init(_ info: MediaInfo) {
        source = info.source
        container = info.container
        containerLongName = info.containerLongName
        codec = info.codec
        codecLongName = info.codecLongName
        profile = info.profile
        pixelFormat = info.pixelFormat
        width = info.width
        height = info.height
        frameRate = info.frameRate?.value
        frameRateRational = info.frameRate?.description
        timeBase = info.timeBase.description
        duration = info.duration
        declaredFrames = info.declaredFrameCount
        audioStreams = info.audioStreamCount
        rotation = info.rotation
    }

    func text() -> String {
        var rows: [(String, String)] = [
            ("source", source),
            ("container", "\(container) (\(containerLongName))"),
            ("codec", "\(codec) (\(codecLongName))" + (profile.map { ", \($0)" } ?? "")),
            ("size", "\(width)x\(height)" + (pixelFormat.map { ", \($0)" } ?? "")),
            ("frame rate", frameRate.map { "\(Self.decimal($0, 3)) fps (\(frameRateRational ?? ""))" } ?? "unknown"),
            ("duration", duration.map { "\(Self.decimal($0, 3)) s" } ?? "unknown"),
            ("audio", audioStreams == 0 ? "none" : "\(audioStreams) stream\(audioStreams == 1 ? "" : "s")")
        ]
        if rotation != 0 {
            rows.append(("rotation", "\(rotation)° clockwise for display (trackd reads the picture as stored)"))
        }
        if let frames { rows.append(("frames", "\(frames)")) }
        if let p = corruptPackets, let f = corruptFrames, p + f > 0 {
            rows.append(("skipped", "\(Self.plural(p, "damaged packet")), \(Self.plural(f, "damaged frame"))"))
        }
        if let missing = missingFrames, missing > 0 {
            rows.append(("missing", "\(Self.plural(missing, "frame")) the container declares never decoded"))
        }
        if let repaired = repairedTimes, repaired > 0 {
            rows.append(("repaired", "\(Self.plural(repaired, "frame time")) that repeated or went back"))
        }
        let width = rows.map(\.0.count).max()! + 2
        return rows.map { ($0.0 + ":").padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n")
    }

    static func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// A number with at most `places` decimals, trailing zeros dropped ("29.97", "30").
    static func decimal(_ value: Double, _ places: Int) -> String {
        var text = String(format: "%.\(places)f", value)
        while text.contains("."), text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
