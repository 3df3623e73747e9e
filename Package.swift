// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "trackd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "trackd", targets: ["trackd"]),
        .library(name: "VideoIO", targets: ["VideoIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // FFmpeg's C API, found through pkg-config. Debian's libavformat.pc names the
        // other libraries only as private requirements, so the module map links them.
        .systemLibrary(
            name: "CFFmpeg",
            path: "Sources/CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]
        ),
        .target(name: "VideoIO", dependencies: ["CFFmpeg"]),
        // The tracker core: pure Swift, no I/O, deterministic.
        .target(name: "Tracking"),
        // MOTChallenge text files: det.txt, gt.txt, results, seqinfo.ini.
        .target(name: "MOTFiles"),
        // Where observations come from: detectors, and replayed det.txt files.
        .target(name: "Detection", dependencies: ["Tracking", "MOTFiles"]),
        // MOTChallenge scoring (HOTA, CLEAR MOT, Identity) as TrackEval computes it.
        .target(name: "Evaluation", dependencies: ["MOTFiles", "Tracking"]),
        .executableTarget(
            name: "trackd",
            dependencies: [
                "VideoIO", "Detection", "Tracking", "MOTFiles", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "ReaderBenchmark",
            dependencies: ["VideoIO"],
            path: "Benchmarks/ReaderBenchmark"
        ),
        // Fixture paths, subprocesses and the ffmpeg / ffprobe references for the tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .target(name: "CMallocInfo", path: "Tests/CMallocInfo"),
        .executableTarget(
            name: "TrackerBenchmark",
            dependencies: ["Tracking", "Detection", "MOTFiles"],
            path: "Benchmarks/TrackerBenchmark"
        ),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "TestSupport"]),
        .testTarget(name: "MOTFilesTests", dependencies: ["MOTFiles"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "MOTFiles"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "TestSupport", "CMallocInfo"]),
        .testTarget(name: "TrackdCLITests", dependencies: ["trackd", "TestSupport", "MOTFiles"]),
    ],
    swiftLanguageModes: [.v6]
)
