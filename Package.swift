// swift-tools-version:6.0
import PackageDescription

// OpenVINO's C runtime, installed by scripts/setup into .deps/openvino (Debian has no
// package). The binary records the library folder as an rpath, so trackd runs
// without LD_LIBRARY_PATH.
let openVINO = Context.packageDirectory + "/.deps/openvino"
// Every module that imports Detection loads the C module's headers too.
let openVINOHeaders: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I\(openVINO)/include"])]

let package = Package(
    name: "trackd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "trackd", targets: ["trackd"]),
        .library(name: "VideoIO", targets: ["VideoIO"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2")
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
        // Boxes and observations: the shapes detectors give and trackers take.
        .target(name: "Geometry"),
        // A fleet's shared state in PostgreSQL: schema, nodes, the job queue.
        .target(
            name: "Fleet",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
            ]),
        // Optimal linear assignment (Jonker-Volgenant), for the tracker and for scoring.
        .target(name: "Assignment"),
        // The tracker core: pure Swift, no I/O, deterministic.
        .target(name: "Tracking", dependencies: ["Geometry", "Assignment"]),
        // MOTChallenge text files: det.txt, gt.txt, results, seqinfo.ini.
        .target(name: "MOTFiles", dependencies: ["Geometry"]),
        .systemLibrary(name: "COpenVINO", path: "Sources/COpenVINO"),
        // libmosquitto, the MQTT client library (Debian's libmosquitto-dev).
        .systemLibrary(
            name: "CMosquitto", path: "Sources/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        // One-stage detectors on OpenVINO: frames in, observations out.
        .target(
            name: "Detection",
            dependencies: ["COpenVINO", "VideoIO", "Geometry"],
            swiftSettings: openVINOHeaders,
            // Two rpaths: an installed layout first (bin/trackd beside
            // lib/trackd/openvino, see scripts/install-service), then the development tree.
            linkerSettings: [
                .unsafeFlags([
                    "-L\(openVINO)/lib", "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/trackd/openvino",
                    "-Xlinker", "-rpath", "-Xlinker", "\(openVINO)/lib"
                ])
            ]
        ),
        // The track log: JSON lines, crash-safe appends, a reader that survives a cut tail.
        .target(name: "TrackLog", dependencies: ["Geometry", "Tracking", "MOTFiles"]),
        // Counting lines, zones, dwell and speed over tracked frames: pure, no I/O.
        .target(name: "Analytics", dependencies: ["Geometry", "TrackLog"]),
        // Video in, track log out: decoding ahead on its own thread, detection, tracking;
        // counted through swift-metrics (a no-op unless the application bootstraps it).
        .target(
            name: "Pipeline",
            dependencies: [
                "VideoIO", "Detection", "Geometry", "Tracking", "TrackLog", "MOTFiles", "Analytics",
                .product(name: "Metrics", package: "swift-metrics")
            ],
            swiftSettings: openVINOHeaders
        ),
        // `trackd serve`'s files: its configuration, the spool and its job files (parsed
        // without the daemon's network stack, so the fuzzer builds quickly).
        .target(
            name: "ServiceFiles",
            dependencies: ["Analytics", "Detection", "Pipeline", "Tracking", "TrackLog", "VideoIO"],
            swiftSettings: openVINOHeaders
        ),
        // `trackd serve`: spool jobs, live streams, systemd notification, status, HTTP API.
        .target(
            name: "Service",
            dependencies: [
                "Analytics", "CMosquitto", "ServiceFiles", "Pipeline", "Detection", "TrackLog", "VideoIO", "Render", "Fleet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio")
            ],
            swiftSettings: openVINOHeaders
        ),
        // A track log drawn over its video, encoded with libavcodec.
        .target(name: "Render", dependencies: ["Analytics", "Geometry", "VideoIO", "TrackLog"]),
        // MOTChallenge scoring (HOTA, CLEAR MOT, Identity) as TrackEval computes it.
        .target(name: "Evaluation", dependencies: ["MOTFiles", "Assignment"]),
        .executableTarget(
            name: "trackd",
            dependencies: [
                "VideoIO", "Detection", "Geometry", "Tracking", "MOTFiles", "Evaluation", "TrackLog", "Pipeline", "Render",
                "Service", "ServiceFiles", "Analytics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: openVINOHeaders
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
            dependencies: ["Assignment", "Geometry", "Tracking", "MOTFiles"],
            path: "Benchmarks/TrackerBenchmark"
        ),
        .executableTarget(
            name: "DetectorBenchmark",
            dependencies: ["Detection", "VideoIO"],
            path: "Benchmarks/DetectorBenchmark",
            swiftSettings: openVINOHeaders
        ),
        .executableTarget(
            name: "VisualCostBenchmark",
            dependencies: ["Detection", "Geometry", "Tracking", "VideoIO"],
            path: "Benchmarks/VisualCostBenchmark",
            swiftSettings: openVINOHeaders
        ),
        .executableTarget(
            name: "FleetBenchmark",
            dependencies: [
                "Fleet", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
            ],
            path: "Benchmarks/FleetBenchmark"
        ),
        .executableTarget(
            name: "PipelineBenchmark",
            dependencies: ["Detection", "Pipeline", "TrackLog", "Tracking", "VideoIO"],
            path: "Benchmarks/PipelineBenchmark",
            swiftSettings: openVINOHeaders
        ),
        // libFuzzer target for the input parsers (Benchmarks/fuzz.sh); built plainly, a
        // replay of the inputs kept in Benchmarks/fuzz-inputs/.
        .executableTarget(
            name: "FuzzParsers",
            dependencies: ["Analytics", "Detection", "MOTFiles", "ServiceFiles", "TrackLog"],
            path: "Benchmarks/FuzzParsers",
            swiftSettings: openVINOHeaders
        ),
        .testTarget(
            name: "FleetTests",
            dependencies: [
                "Fleet", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log")
            ]),
        .testTarget(name: "TrackingTests", dependencies: ["Assignment", "Geometry", "Tracking", "TestSupport"]),
        .testTarget(
            name: "DetectionTests", dependencies: ["Detection", "Geometry", "VideoIO", "TestSupport"],
            swiftSettings: openVINOHeaders),
        .testTarget(
            name: "PipelineTests", dependencies: ["Pipeline", "Detection", "VideoIO", "Geometry", "TestSupport"],
            swiftSettings: openVINOHeaders),
        .testTarget(name: "TrackLogTests", dependencies: ["TrackLog", "Geometry", "Tracking", "TestSupport"]),
        .testTarget(name: "AnalyticsTests", dependencies: ["Analytics", "TrackLog", "Geometry"]),
        .testTarget(name: "MOTFilesTests", dependencies: ["MOTFiles", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "MOTFiles"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "TestSupport", "CMallocInfo"]),
        .testTarget(
            name: "TrackdCLITests",
            dependencies: [
                "trackd", "FuzzParsers", "TestSupport", "MOTFiles", "TrackLog", "Render",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log")
            ]),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "Service", "ServiceFiles", "Detection", "Geometry", "Pipeline", "Tracking", "VideoIO", "TestSupport",
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: openVINOHeaders)
    ],
    swiftLanguageModes: [.v6]
)
