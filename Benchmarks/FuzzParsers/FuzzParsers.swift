// libFuzzer target for the parsers of trackd's inputs: one binary, the parser chosen
// by $TRACKD_FUZZ_TARGET (tracklog, onnx, mot, job, config, analytics). Built by
// Benchmarks/fuzz.sh with -sanitize=fuzzer,address and -DFUZZING, libFuzzer's driver
// runs it; built plainly, it replays the files named on its command line (the inputs
// kept under Benchmarks/fuzz-inputs/), so a finding stays a regression case.
import Analytics
@_spi(Fuzzing) import Detection
import Foundation
import MOTFiles
import ServiceFiles
import TrackLog

enum Target: String, CaseIterable {
    case tracklog, onnx, mot, job, config, analytics

    static let current: Target = {
        let name = ProcessInfo.processInfo.environment["TRACKD_FUZZ_TARGET"] ?? ""
        guard let target = Target(rawValue: name) else {
            FileHandle.standardError.write(Data("set TRACKD_FUZZ_TARGET to one of \(allCases.map(\.rawValue))\n".utf8))
            exit(2)
        }
        return target
    }()

    /// Scratch space for the parsers that read files: a track log, a spool.
    static let scratch: URL = {
        let url = URL(fileURLWithPath: "/dev/shm").appendingPathComponent("trackd-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
    static let spool = try! Spool(root: scratch.appendingPathComponent("spool").path)

    /// Parses `data` as this target's input; errors are the expected outcome for
    /// most inputs, crashes and hangs are the findings.
    func run(_ data: Data) {
        switch self {
        case .tracklog:
            let path = Self.scratch.appendingPathComponent("log.jsonl").path
            guard FileManager.default.createFile(atPath: path, contents: data) else { fatalError("cannot write \(path)") }
            guard let reader = try? TrackLogReader(path: path) else { return }
            while (try? reader.next()) != nil {}
            for format in ExportFormat.allCases {
                guard let reader = try? TrackLogReader(path: path) else { return }
                _ = try? FrameExporter.export(reader, format: format, refiner: Refiner(maxGap: 1, sigma: 0.1)) { _ in }
            }
        case .onnx:
            let metadata = data.withUnsafeBytes(ONNXMetadata.parse)
            for value in metadata.values {
                _ = ONNXMetadata.names(value)
                _ = ONNXMetadata.imageSize(value)
            }
        case .mot:
            let text = String(decoding: data, as: UTF8.self)
            _ = try? MOTText.parse(text, file: "fuzz")
            _ = try? SequenceInfo.parse(text, file: "fuzz")
        case .job:
            _ = try? JobSpec.parse(data, name: "fuzz.json", spool: Self.spool)
        case .config:
            _ = try? ServiceConfig.parse(data, file: "fuzz.json")
        case .analytics:
            // The configuration, then its geometry at work: a track walking across the
            // picture's diagonal, then standing still, then gone.
            guard let config = try? AnalyticsConfig(json: data),
                let placed = try? config.resolved(width: 640, height: 360, classes: ["person", "car"])
            else { return }
            var analytics = Analytics(config: placed, maxLostSeconds: 1)
            for k in 0..<60 {
                let step = Double(min(k, 40))
                let box = [step * 15, step * 8, 40, 100]
                let tracks =
                    k < 50 ? [LogTrack(id: 1, class: "person", classId: 0, score: 0.9, box: box, state: "confirmed")] : []
                _ = analytics.update(LogFrame(frame: k, time: Double(k) / 10, tracks: tracks))
            }
            _ = analytics.finish()
        }
    }
}

/// libFuzzer's entry point for an input.
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    Target.current.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

@main
struct FuzzParsers {
    static func main() throws {
        #if FUZZING
            // SwiftPM gives an executable its own entry point, so libFuzzer's main is not
            // linked: its driver is called from here instead.
            typealias Arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
            typealias Driver =
                @convention(c) (
                    UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Arguments>,
                    @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
                ) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
                fatalError("not linked with libFuzzer (-sanitize=fuzzer)")
            }
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(unsafeBitCast(symbol, to: Driver.self)(&argc, &argv) { fuzzOneInput($0, $1) })
        #else
            for path in CommandLine.arguments.dropFirst() {
                Target.current.run(try Data(contentsOf: URL(fileURLWithPath: path)))
                print("ok \(path)")
            }
        #endif
    }
}
