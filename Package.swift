// swift-tools-version:6.1
// Aisle: a search-centric catalog engine for online shops.
//
// Module graph (dependencies point one way; scripts/check_imports.py checks that every import is
// declared here and that the rules of ARCHITECTURE.md hold):
//   AisleIndex     -> CZstd, CVectorMath             (inverted index, HNSW; knows no ICU, no database, no model)
//   AisleAnalyzer  -> CICUShim, CStemmer             (text analysis; knows no index)
//   AisleEngine    -> AisleIndex, AisleAnalyzer      (schemas, typed records, query parser, search service)
//   AisleCatalog   -> CLibPQ, CMongoc                (PostgreSQL catalog, attribute documents; knows no index)
//   AisleSync      -> AisleCatalog, AisleEngine, AisleIndex  (catalog rows -> typed records, change-log follower, reindex)
//   AisleCommerce  -> AisleCatalog, CHiredis, CArgon2  (customers, sessions, carts; imports no search module)
//   AisleEmbedding -> CBLAS                          (the sentence encoder: safetensors, WordPiece, BERT; knows no index)
//   AisleServer    -> AisleEngine, AisleIndex, AisleCommerce, Hummingbird, NIO  (the HTTP JSON API)
//   aisle          -> AisleServer, AisleSync, AisleCommerce, AisleCatalog, AisleEngine, AisleIndex, ArgumentParser  (wiring only)
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

/// Hot-path modules: no dynamic exclusivity checks in release builds (they cost ~20% of indexing time;
/// the code keeps to the exclusivity rules, which debug builds and the tests still check).
let fastSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Aisle",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "aisle", targets: ["aisle"]),
        .library(name: "AisleIndex", targets: ["AisleIndex"]),
        .library(name: "AisleAnalyzer", targets: ["AisleAnalyzer"]),
        .library(name: "AisleEngine", targets: ["AisleEngine"]),
        .library(name: "AisleCatalog", targets: ["AisleCatalog"]),
        .library(name: "AisleSync", targets: ["AisleSync"]),
        .library(name: "AisleCommerce", targets: ["AisleCommerce"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // C shims. ICU's public header must include no ICU header (Foundation ships its own ICU).
        .target(
            name: "CICUShim",
            path: "Sources/CICUShim",
            linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),
        // Inner products for the HNSW graph: AVX-512 or AVX2/FMA when the CPU has them, chosen at run time.
        .target(name: "CVectorMath", path: "Sources/CVectorMath", cSettings: [.unsafeFlags(["-O3"])]),
        .systemLibrary(name: "CStemmer", path: "Sources/CStemmer", providers: [.apt(["libstemmer-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMongoc", path: "Sources/CMongoc", pkgConfig: "libmongoc-1.0",
                       providers: [.apt(["libmongoc-dev", "libbson-dev"])]),
        // hiredis 0.14: no pkgConfig (its .pc adds a flag SwiftPM refuses); libargon2 for password hashes.
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CArgon2", path: "Sources/CArgon2", providers: [.apt(["libargon2-dev"])]),
        // OpenBLAS's CBLAS for the embedding model's matrix products.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),

        .target(
            name: "AisleAnalyzer",
            dependencies: ["CICUShim", "CStemmer"],
            path: "Sources/Analyzer",
            swiftSettings: fastSettings
        ),
        .target(
            name: "AisleIndex",
            dependencies: ["CZstd", "CVectorMath"],
            path: "Sources/Index",
            swiftSettings: fastSettings
        ),
        .target(
            name: "AisleEngine",
            dependencies: ["AisleIndex", "AisleAnalyzer"],
            path: "Sources/Engine",
            swiftSettings: fastSettings
        ),
        .target(
            name: "AisleServer",
            dependencies: ["AisleEngine", "AisleIndex", "AisleCommerce",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                           .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Sources/Server",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AisleCatalog",
            dependencies: ["CLibPQ", "CMongoc"],
            path: "Sources/Catalog",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AisleSync",
            dependencies: ["AisleCatalog", "AisleEngine", "AisleIndex"],
            path: "Sources/Sync",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AisleEmbedding",
            dependencies: ["CBLAS"],
            path: "Sources/Embedding",
            swiftSettings: fastSettings
        ),
        .target(
            name: "AisleCommerce",
            dependencies: ["AisleCatalog", "CHiredis", "CArgon2"],
            path: "Sources/Commerce",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "aisle",
            dependencies: [
                "AisleEngine",
                "AisleIndex",
                "AisleAnalyzer",
                "AisleServer",
                "AisleCatalog",
                "AisleSync",
                "AisleCommerce",
                "AisleEmbedding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/aisle",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "AisleAnalyzerTests", dependencies: ["AisleAnalyzer", "CICUShim"], path: "Tests/AnalyzerTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleIndexTests", dependencies: ["AisleIndex"], path: "Tests/IndexTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleEngineTests", dependencies: ["AisleEngine", "AisleIndex"], path: "Tests/EngineTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleCLITests", dependencies: ["AisleEngine", "AisleIndex", "aisle"], path: "Tests/CLITests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleEmbeddingTests", dependencies: ["AisleEmbedding"], path: "Tests/EmbeddingTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleCommerceTests", dependencies: ["AisleCommerce", "AisleCatalog"], path: "Tests/CommerceTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "AisleServerTests",
                    dependencies: ["AisleServer", "AisleEngine", "AisleIndex", "AisleCommerce", "AisleCatalog",
                                   .product(name: "Hummingbird", package: "hummingbird"),
                                   .product(name: "HummingbirdTesting", package: "hummingbird"),
                                   .product(name: "HTTPTypes", package: "swift-http-types"),
                                   .product(name: "NIOCore", package: "swift-nio")],
                    path: "Tests/ServerTests", swiftSettings: swiftSettings),
        .testTarget(name: "AisleCatalogTests", dependencies: ["AisleCatalog", "AisleCommerce", "AisleEngine", "AisleIndex", "AisleSync", "aisle"],
                    path: "Tests/CatalogTests", swiftSettings: swiftSettings),
    ]
)
