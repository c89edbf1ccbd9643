// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Scribe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "scribe", targets: ["scribe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries: one system-library target each, owned by exactly one Swift module.
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // Runs before main in every binary that links Inference: refuses CPUs without AVX2/FMA
        // and picks OpenBLAS's kernel.
        .target(name: "CBLASBoot", linkerSettings: [.linkedLibrary("dl")]),
        // What every module shares: the error taxonomy and the one JSON layer.
        .target(name: "ScribeCore"),

        // Compiled for x86-64-v3 (AVX2, FMA): the kernels' SIMD code is built for it, and
        // CBLASBoot refuses to start on an older CPU before any of it runs.
        // The integer panels' layout and the tile every kernel set takes.
        .target(name: "PanelFormat"),
        // Integer tiles for AVX-512 CPUs, called only where KernelSet finds the features: the
        // same sources compiled with and without VNNI (KernelsAVX512VNNI links them), so
        // the compiler cannot put VNNI instructions in the plain AVX-512 set.
        .target(
            name: "KernelsAVX512", dependencies: ["PanelFormat"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c", "-Xcc", "-mavx512f",
                                          "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl"])]),
        .target(
            name: "KernelsAVX512VNNI", dependencies: ["PanelFormat"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c", "-Xcc", "-mavx512f",
                                          "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512vnni"]),
                            .define("VNNI")]),
        .target(
            name: "Inference",
            dependencies: ["ScribeCore", "COpenBLAS", "CBLASBoot", "PanelFormat", "KernelsAVX512", "KernelsAVX512VNNI",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]),
        .target(name: "Constraints", dependencies: ["ScribeCore"], exclude: ["README.md"]),
        .target(
            name: "Engine",
            dependencies: ["ScribeCore", "Inference", "Constraints", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "JobStore",
            dependencies: ["ScribeCore", "CLibPQ", "MigrationFiles", .product(name: "Logging", package: "swift-log")]),
        // Migrations/*.sql compiled in, so installed binaries can migrate (see Migrations/README.md).
        .target(name: "MigrationFiles", path: "Migrations", exclude: ["README.md"], plugins: ["EmbedMigrations"]),
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"]),
        .target(
            name: "Webhooks",
            dependencies: [
                "ScribeCore", "CCurl", "JobStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]),
        // Logs, Prometheus metrics and sd_notify for running under systemd; the status screen and progress bar.
        .target(
            name: "Operations",
            dependencies: ["ScribeCore", "JobStore", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Worker",
            dependencies: ["ScribeCore", "Engine", "Inference", "JobStore", "Operations", "Webhooks",
                           .product(name: "Logging", package: "swift-log")]),
        // OpenAI Batch API files: validation and output lines, pure; JobStore stores them.
        .target(name: "Batches", dependencies: ["ScribeCore", "Engine", "JobStore"]),
        .executableTarget(
            name: "scribe",
            dependencies: [
                "ScribeCore", "Inference", "Engine", "JobStore", "Webhooks", "Worker", "Operations", "Batches",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        .target(
            name: "TestSupport",
            dependencies: ["JobStore", "Inference", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"),
        .testTarget(name: "ScribeCoreTests", dependencies: ["ScribeCore"]),
        .testTarget(name: "ConstraintsTests", dependencies: ["Constraints", "ScribeCore", "Inference", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "CBLASBoot", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Constraints", "Inference", "TestSupport"]),
        .testTarget(
            name: "JobStoreTests",
            dependencies: ["JobStore", "Engine", "Batches", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "Engine", "JobStore", "TestSupport"]),
        .testTarget(name: "BatchesTests", dependencies: ["Batches", "Constraints", "Engine", "JobStore", "TestSupport"]),
        .testTarget(
            name: "WebhooksTests",
            dependencies: ["Webhooks", "JobStore", "Inference", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "OperationsTests",
            dependencies: ["Operations", "JobStore", "TestSupport", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
