import Foundation
import Testing
@testable import AisleIndex

/// Round trips of every on-disk codec of the index, on seeded random data (the seed is printed;
/// replay a failure with AISLE_TEST_SEED=<seed>).
@Suite struct CodecRoundTripTests {

    // MARK: - Varints and ByteReader

    static let vintEdges: [UInt64] = {
        var v: [UInt64] = [0, 1, 2, 127, 128, 129, 255, 256, 16383, 16384, 16385, UInt64.max, UInt64.max - 1,
                           UInt64(Int64.max), UInt64(Int64.max) + 1]
        for k in 0..<64 {
            v.append(UInt64(1) << UInt64(k))
            v.append((UInt64(1) << UInt64(k)) &- 1)
        }
        return v
    }()

    static let svintEdges: [Int64] = [0, 1, -1, 2, -2, 63, -64, 64, -65, 127, -128, 8191, -8192, 8192,
                                      Int64.max, Int64.min, Int64.max - 1, Int64.min + 1,
                                      Int64(Int32.max), Int64(Int32.min)]

    /// Bytes LEB128 needs for `v`.
    static func vintLength(_ v: UInt64) -> Int { v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7 }

    @Test func varintEdgeValuesRoundTrip() throws {
        for v in Self.vintEdges {
            var w = ByteWriter()
            w.vint(v)
            #expect(w.count == Self.vintLength(v), "vint \(v) took \(w.count) bytes")
            try w.bytes.withUnsafeBytes { (raw) throws in
                var r = ByteReader(raw, file: "v.bin")
                #expect(try r.vint() == v)
                #expect(r.atEnd)
            }
        }
        // Known encodings.
        func enc(_ v: UInt64) -> [UInt8] { var w = ByteWriter(); w.vint(v); return w.bytes }
        #expect(enc(0) == [0])
        #expect(enc(127) == [0x7F])
        #expect(enc(128) == [0x80, 0x01])
        #expect(enc(300) == [0xAC, 0x02])
        #expect(enc(UInt64.max) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        for v in Self.svintEdges {
            var w = ByteWriter()
            w.svint(v)
            try w.bytes.withUnsafeBytes { (raw) throws in
                var r = ByteReader(raw, file: "s.bin")
                #expect(try r.svint() == v)
                #expect(r.atEnd)
            }
        }
        // Zig-zag: small magnitudes stay small.
        for v: Int64 in [-64, 63] { var w = ByteWriter(); w.svint(v); #expect(w.count == 1) }
        var w = ByteWriter(); w.svint(Int64.min); #expect(w.count == 10)
    }

    enum Item: Equatable {
        case u8(UInt8), u16(UInt16), u32(UInt32), u64(UInt64), f32(UInt32), f64(UInt64)
        case vint(UInt64), svint(Int64), blob([UInt8]), string(String)
    }

    static func randomItem(_ rng: inout SeededRandom) -> Item {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .u8(UInt8.random(in: 0...255, using: &rng))
        case 1: return .u16(UInt16.random(in: 0...UInt16.max, using: &rng))
        case 2: return .u32(UInt32.random(in: 0...UInt32.max, using: &rng))
        case 3: return .u64(rng.next())
        case 4: return .f32(UInt32.random(in: 0...UInt32.max, using: &rng))
        case 5: return .f64(rng.next())
        case 6:
            if Int.random(in: 0..<4, using: &rng) == 0 { return .vint(vintEdges.randomElement(using: &rng)!) }
            return .vint(rng.next() >> UInt64(Int.random(in: 0...63, using: &rng)))
        case 7:
            if Int.random(in: 0..<4, using: &rng) == 0 { return .svint(svintEdges.randomElement(using: &rng)!) }
            return .svint(Int64(bitPattern: rng.next()) >> Int64(Int.random(in: 0...63, using: &rng)))
        case 8: return .blob((0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        default: return .string(randomString(&rng, maxPieces: 6))
        }
    }

    static func write(_ item: Item, _ w: inout ByteWriter) {
        switch item {
        case .u8(let v): w.u8(v)
        case .u16(let v): w.u16(v)
        case .u32(let v): w.u32(v)
        case .u64(let v): w.u64(v)
        case .f32(let v): w.f32(Float(bitPattern: v))
        case .f64(let v): w.f64(Double(bitPattern: v))
        case .vint(let v): w.vint(v)
        case .svint(let v): w.svint(v)
        case .blob(let b): w.blob(b)
        case .string(let s): w.string(s)
        }
    }

    static func read(like item: Item, _ r: inout ByteReader) throws -> Item {
        switch item {
        case .u8: return .u8(try r.u8())
        case .u16: return .u16(try r.u16())
        case .u32: return .u32(try r.u32())
        case .u64: return .u64(try r.u64())
        case .f32: return .f32(try r.f32().bitPattern)
        case .f64: return .f64(try r.f64().bitPattern)
        case .vint: return .vint(try r.vint())
        case .svint: return .svint(try r.svint())
        case .blob: return .blob(Array(try r.blob()))
        case .string: return .string(try r.string())
        }
    }

    @Test func mixedStreamsRoundTripAndTruncationThrows() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-bytes")
        for round in 0..<200 {
            let items = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Self.randomItem(&rng) }
            var w = ByteWriter(capacity: 4)
            for it in items { Self.write(it, &w) }
            let bytes = w.bytes
            try bytes.withUnsafeBytes { (raw) throws in
                var r = ByteReader(raw, file: "stream.bin")
                for it in items {
                    let got = try Self.read(like: it, &r)
                    #expect(got == it, "seed \(seed) round \(round)")
                }
                #expect(r.atEnd, "seed \(seed) round \(round): \(r.remaining) bytes left")
            }
            // Every strict prefix: reading the same items fails with .corrupt naming the file.
            for _ in 0..<5 {
                let cut = Int.random(in: 0..<bytes.count, using: &rng)
                let prefix = Array(bytes[0..<cut])
                prefix.withUnsafeBytes { raw in
                    var r = ByteReader(raw, file: "cut.bin")
                    do {
                        for it in items { _ = try Self.read(like: it, &r) }
                        Issue.record("seed \(seed) round \(round): reading \(cut) of \(bytes.count) bytes did not throw")
                    } catch let e as IndexError {
                        guard case .corrupt(let file, _) = e else {
                            Issue.record("unexpected error \(e)")
                            return
                        }
                        #expect(file == "cut.bin")
                    } catch {
                        Issue.record("unexpected error \(error)")
                    }
                }
            }
        }
    }

    @Test func malformedVarintsThrowCorrupt() throws {
        func expectCorrupt(_ bytes: [UInt8], _ body: (inout ByteReader) throws -> Void, _ what: String) {
            bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw, file: "bad.bin")
                do {
                    try body(&r)
                    Issue.record("\(what): no error")
                } catch let e as IndexError {
                    if case .corrupt(let f, _) = e { #expect(f == "bad.bin") } else { Issue.record("\(what): \(e)") }
                } catch {
                    Issue.record("\(what): \(error)")
                }
            }
        }
        // Every truncation of a 10-byte varint.
        var w = ByteWriter()
        w.vint(UInt64.max)
        for n in 0..<10 { expectCorrupt(Array(w.bytes[0..<n]), { _ = try $0.vint() }, "truncated vint (\(n) bytes)") }
        // Too long and overflowing varints.
        expectCorrupt([UInt8](repeating: 0x80, count: 10) + [0x01], { _ = try $0.vint() }, "11-byte vint")
        expectCorrupt([UInt8](repeating: 0xFF, count: 9) + [0x02], { _ = try $0.vint() }, "vint overflow")
        expectCorrupt([UInt8](repeating: 0xFF, count: 9) + [0x7F], { _ = try $0.vint() }, "vint overflow 0x7f")
        expectCorrupt([UInt8](repeating: 0xFF, count: 12), { _ = try $0.vint() }, "endless vint")
        // A limit.
        var l = ByteWriter()
        l.vint(UInt64(1000))
        expectCorrupt(l.bytes, { _ = try $0.vint(max: 999) }, "vint over its limit")
        l.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, file: "ok.bin")
            #expect((try? r.vint(max: 1000)) == 1000)
        }
        // Blobs and strings whose length runs past the end; negative and oversized reads.
        expectCorrupt([0x05, 1, 2, 3], { _ = try $0.blob() }, "blob past end")
        expectCorrupt([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1], { _ = try $0.string() }, "string past end")
        expectCorrupt([1, 2, 3], { _ = try $0.bytes(-1) }, "negative read")
        expectCorrupt([1, 2, 3], { _ = try $0.bytes(Int.max) }, "huge read")
        expectCorrupt([1, 2, 3], { try $0.skip(4) }, "skip past end")
        expectCorrupt([1, 2, 3], { _ = try $0.u32() }, "u32 past end")
        expectCorrupt([1, 2, 3, 4, 5, 6, 7], { _ = try $0.u64() }, "u64 past end")
        expectCorrupt([], { _ = try $0.u8() }, "u8 of nothing")
        expectCorrupt([], { _ = try $0.vint() }, "vint of nothing")
        // A reader that starts past its end.
        [UInt8](repeating: 0, count: 4).withUnsafeBytes { raw in
            var r = ByteReader(raw, file: "off.bin", offset: 9)
            #expect(throws: IndexError.self) { _ = try r.u8() }
            #expect(throws: IndexError.self) { _ = try r.vint() }
        }
    }

    @Test func byteWriterPatching() throws {
        var w = ByteWriter()
        w.u32(0)
        w.u64(0x0102_0304_0506_0708)
        w.patchU32(at: 0, 0xDEAD_BEEF)
        w.replaceBytes(at: 4, with: [9, 9])
        try w.bytes.withUnsafeBytes { (raw) throws in
            var r = ByteReader(raw, file: "p.bin")
            #expect(try r.u32() == 0xDEAD_BEEF)
            #expect(try r.u16() == 0x0909)
            #expect(Array(try r.bytes(6)) == [6, 5, 4, 3, 2, 1])
        }
    }

    // MARK: - BitPacking and PFor

    @Test func bitPackingEveryWidthAndCount() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-bitpack")
        for width in 0...32 {
            for count in 0...130 {
                let limit: UInt64 = width == 32 ? UInt64(UInt32.max) : (UInt64(1) << UInt64(width)) - 1
                var values = (0..<count).map { _ in UInt32(UInt64.random(in: 0...limit, using: &rng)) }
                if count > 0 && width > 0 && Bool.random(using: &rng) { values[Int.random(in: 0..<count, using: &rng)] = UInt32(limit) }
                // Data starts at a random, usually unaligned, offset.
                let lead = Int.random(in: 0...9, using: &rng)
                var w = ByteWriter()
                for _ in 0..<lead { w.u8(0xA5) }
                values.withUnsafeBufferPointer { BitPacking.pack($0.baseAddress!, count: count, width: width, into: &w) }
                #expect(w.count - lead == BitPacking.byteCount(count: count, width: width), "w=\(width) n=\(count)")
                var buf = w.bytes
                buf += [UInt8](repeating: 0xEE, count: BitPacking.slack)
                let ctx = "seed \(seed) width \(width) count \(count)"
                var out = [UInt32](repeating: 0xDEAD_BEEF, count: count + 1)
                buf.withUnsafeBytes { raw in
                    out.withUnsafeMutableBufferPointer {
                        BitPacking.unpack(raw.baseAddress! + lead, count: count, width: width, into: $0.baseAddress!)
                    }
                }
                #expect(Array(out[0..<count]) == values, "\(ctx): unpack")
                #expect(out[count] == 0xDEAD_BEEF, "\(ctx): unpack wrote past count")

                // Deltas: dst[i] = dst[i-1] + delta + 1.
                let base = UInt32.random(in: 0...1000, using: &rng)
                var expected: [UInt32] = []
                var prev = base
                for d in values { prev = prev &+ d &+ 1; expected.append(prev) }
                var deltas = [UInt32](repeating: 0xDEAD_BEEF, count: count + 1)
                buf.withUnsafeBytes { raw in
                    deltas.withUnsafeMutableBufferPointer {
                        BitPacking.unpackDeltas(raw.baseAddress! + lead, count: count, width: width, base: base, into: $0.baseAddress!)
                    }
                }
                #expect(Array(deltas[0..<count]) == expected, "\(ctx): unpackDeltas")
                #expect(deltas[count] == 0xDEAD_BEEF, "\(ctx): unpackDeltas wrote past count")
            }
        }
        // Values wider than the width keep only their low bits.
        let wide: [UInt32] = [0xFFFF_FFFF, 0x1234_5678, 7, 0x8000_0001]
        for width in [1, 3, 8, 13, 31] {
            var w = ByteWriter()
            wide.withUnsafeBufferPointer { BitPacking.pack($0.baseAddress!, count: wide.count, width: width, into: &w) }
            let buf = w.bytes + [UInt8](repeating: 0, count: BitPacking.slack)
            var out = [UInt32](repeating: 0, count: wide.count)
            buf.withUnsafeBytes { raw in
                out.withUnsafeMutableBufferPointer { BitPacking.unpack(raw.baseAddress!, count: wide.count, width: width, into: $0.baseAddress!) }
            }
            #expect(out == wide.map { $0 & ((UInt32(1) << UInt32(width)) - 1) })
        }
        // width(of:) and width(_:count:).
        #expect(BitPacking.width(of: 0) == 0)
        #expect(BitPacking.width(of: 1) == 1)
        #expect(BitPacking.width(of: 255) == 8)
        #expect(BitPacking.width(of: 256) == 9)
        #expect(BitPacking.width(of: UInt32.max) == 32)
        let some: [UInt32] = [1, 4, 0, 17]
        #expect(some.withUnsafeBufferPointer { BitPacking.width($0.baseAddress!, count: 4) } == 5)
    }

    enum Distribution: CaseIterable { case uniform, outliers, allZero, allMax, small, oneHugeFirst, oneHugeLast, increasing, powersOfTwo }

    static func values(_ d: Distribution, count n: Int, _ rng: inout SeededRandom) -> [UInt32] {
        switch d {
        case .uniform:
            let w = Int.random(in: 0...32, using: &rng)
            let limit: UInt64 = w == 32 ? UInt64(UInt32.max) : (UInt64(1) << UInt64(w)) - 1
            return (0..<n).map { _ in UInt32(UInt64.random(in: 0...limit, using: &rng)) }
        case .outliers:
            var v = (0..<n).map { _ in UInt32.random(in: 0..<16, using: &rng) }
            for _ in 0..<Int.random(in: 1...max(1, n / 10), using: &rng) {
                v[Int.random(in: 0..<n, using: &rng)] = UInt32.random(in: 1_000_000...UInt32.max, using: &rng)
            }
            return v
        case .allZero: return [UInt32](repeating: 0, count: n)
        case .allMax: return [UInt32](repeating: UInt32.max, count: n)
        case .small: return (0..<n).map { _ in UInt32.random(in: 0...3, using: &rng) }
        case .oneHugeFirst:
            var v = (0..<n).map { _ in UInt32.random(in: 0...5, using: &rng) }
            v[0] = UInt32.max
            return v
        case .oneHugeLast:
            var v = (0..<n).map { _ in UInt32.random(in: 0...5, using: &rng) }
            v[n - 1] = 1 << 31
            return v
        case .increasing: return (0..<n).map { UInt32($0) * 1009 }
        case .powersOfTwo: return (0..<n).map { _ in UInt32(1) << UInt32.random(in: 0...31, using: &rng) }
        }
    }

    @Test func pforRoundTripAllDistributions() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-pfor")
        for d in Distribution.allCases {
            for count in 1...128 {
                let values = Self.values(d, count: count, &rng)
                let lead = Int.random(in: 0...5, using: &rng)
                var w = ByteWriter()
                for _ in 0..<lead { w.u8(0x5A) }
                values.withUnsafeBufferPointer { PForBlock.encode($0.baseAddress!, count: count, into: &w) }
                let encoded = w.count - lead
                let buf = w.bytes + [UInt8](repeating: 0xCC, count: BitPacking.slack)
                let ctx = "seed \(seed) \(d) count \(count)"
                // About no larger than plain packing at the widest width plus the 2-byte header (the
                // encoder compares costs in bits, so byte rounding can cost it one byte).
                let widest = values.reduce(0) { max($0, BitPacking.width(of: $1)) }
                #expect(encoded <= 3 + BitPacking.byteCount(count: count, width: widest), "\(ctx): \(encoded) bytes")
                buf.withUnsafeBytes { raw in
                    let p = raw.baseAddress! + lead
                    #expect(PForBlock.size(p, count: count, available: encoded) == encoded, "\(ctx): size")
                    #expect(PForBlock.size(p, count: count, available: encoded + 100) == encoded, "\(ctx): size with room")
                    #expect(PForBlock.size(p, count: count, available: encoded - 1) == nil, "\(ctx): size of truncated")
                    var out = [UInt32](repeating: 0xDEAD_BEEF, count: count + 1)
                    out.withUnsafeMutableBufferPointer { PForBlock.decode(p, count: count, into: $0.baseAddress!) }
                    #expect(Array(out[0..<count]) == values, "\(ctx): decode")
                    #expect(out[count] == 0xDEAD_BEEF, "\(ctx): decode wrote past count")
                }
            }
        }
    }

    /// The size rule written out from the format description, for checking `PForBlock.size`.
    static func referenceSize(_ b: [UInt8], count: Int, available: Int) -> Int? {
        guard available >= 2, b.count >= 2 else { return nil }
        let bw = Int(b[0]), e = Int(b[1])
        guard bw <= 32, e <= count else { return nil }
        var n = 2 + (count * bw + 7) / 8
        if e > 0 {
            guard available >= n + 1, b.count > n else { return nil }
            let hw = Int(b[n])
            guard hw <= 32, bw + hw <= 32 else { return nil }
            n += 1 + e + (e * hw + 7) / 8
        }
        return n <= available ? n : nil
    }

    @Test func pforSizeRejectsGarbageHeaders() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-pfor-garbage")
        func size(_ bytes: [UInt8], count: Int, available: Int? = nil) -> Int? {
            let padded = bytes + [UInt8](repeating: 0, count: 600)
            return padded.withUnsafeBytes { PForBlock.size($0.baseAddress!, count: count, available: available ?? bytes.count) }
        }
        // Named cases.
        #expect(size([], count: 4) == nil)
        #expect(size([3], count: 4) == nil)
        #expect(size([33, 0] + [UInt8](repeating: 0, count: 200), count: 4) == nil, "width 33")
        #expect(size([255, 0] + [UInt8](repeating: 0, count: 200), count: 4) == nil, "width 255")
        #expect(size([4, 5] + [UInt8](repeating: 0, count: 200), count: 4) == nil, "more exceptions than values")
        #expect(size([4, 1, 0, 0, 29] + [UInt8](repeating: 0, count: 20), count: 4) == nil, "b + hw > 32")
        #expect(size([4, 1, 0, 0, 33] + [UInt8](repeating: 0, count: 20), count: 4) == nil, "hw 33")
        #expect(size([4, 1, 0, 0], count: 4) == nil, "no room for the high width byte")
        #expect(size([4, 2, 0, 0, 3, 0], count: 4) == nil, "exception indexes cut off")
        #expect(size([4, 0, 0, 0], count: 4) == 4)
        #expect(size([4, 0, 0], count: 4) == nil, "packed bits cut off")
        #expect(size([0, 0], count: 128) == 2, "all zero")
        #expect(size([32, 0] + [UInt8](repeating: 0, count: 512), count: 128) == 514)
        #expect(size([32, 0] + [UInt8](repeating: 0, count: 511), count: 128) == nil)
        // Random headers agree with the format's rule; when accepted, decoding stays in bounds.
        for i in 0..<3000 {
            let count = Int.random(in: 1...128, using: &rng)
            var bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 2 && Bool.random(using: &rng) { bytes[0] = UInt8.random(in: 0...34, using: &rng) }
            if bytes.count >= 2 && Bool.random(using: &rng) { bytes[1] = UInt8.random(in: 0...3, using: &rng) }
            let want = Self.referenceSize(bytes, count: count, available: bytes.count)
            let got = size(bytes, count: count)
            #expect(got == want, "seed \(seed) case \(i): \(bytes.prefix(4)) count \(count)")
            if let n = got {
                #expect(n <= bytes.count)
                let padded = bytes + [UInt8](repeating: 0, count: BitPacking.slack)
                var out = [UInt32](repeating: 0, count: count)
                padded.withUnsafeBytes { raw in
                    out.withUnsafeMutableBufferPointer { PForBlock.decode(raw.baseAddress!, count: count, into: $0.baseAddress!) }
                }
            }
        }
    }

    // MARK: - XXHash64

    /// Deterministic test data (the reference values below were computed with the reference xxHash).
    static func hashData(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ ($0 >> 7) &* 17 &+ 11) } }

    static let referenceHashes: [(Int, UInt64)] = [
        (1, 0xF592C0C7639C4CB6), (3, 0xFF6AF2A887678C8E), (4, 0xD3C3FD52C85826DD), (5, 0xA4DE7C4E23383BBB),
        (7, 0xBAA798997A7DB723), (8, 0x3D1582AE0C7220BB), (9, 0x0149E3C7A522977B), (12, 0x0C4789B39533B494),
        (15, 0x59C6C44071D9333D), (16, 0xE07ED7BECBAD48F2), (17, 0xC19D41EC23202D1F), (31, 0x190B988159216C73),
        (32, 0xB6BD9A7FEB52C10C), (33, 0x0465EEB26B80569A), (35, 0x84C6F8A8BFF05835), (36, 0x105E5DEC4A107298),
        (39, 0x5CC3B590CD1D5028), (40, 0xECB017CC108DB4F4), (63, 0x0EAC0B22C1E983DA), (64, 0x47C475D90BE3682B),
        (65, 0xE34D1C9E13C3DB61), (100, 0xE5F6A5BCB37E203C), (127, 0x75BEAFDB0045AC75), (128, 0x08D7BA0D10C49783),
        (200, 0xB3FAF08DE25A40C9), (1000, 0xA36DC770FE183AA0), (4097, 0x1FF80562CBCFA39B), (100003, 0x1C4D37D13826C2AB),
    ]

    static func xxh(_ b: [UInt8], seed: UInt64 = 0) -> UInt64 { b.withUnsafeBytes { XXHash64.hash($0, seed: seed) } }

    @Test func xxhash64ReferenceVectors() throws {
        #expect(Self.xxh([]) == 0xEF46_DB37_51D8_E999)
        #expect(Self.xxh(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(Self.xxh(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(Self.xxh(Array("xxhash".utf8)) == 0x32DD_3895_2C4B_C720)
        #expect(Self.xxh(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x0B24_2D36_1FDA_71BC)
        for (n, h) in Self.referenceHashes {
            #expect(Self.xxh(Self.hashData(n)) == h, "length \(n)")
        }
        #expect(Self.xxh([], seed: 1) == 0xD5AF_BA13_36A3_BE4B)
        #expect(Self.xxh(Self.hashData(5), seed: 0x9E37_79B9_7F4A_7C15) == 0xB744_E8AF_9086_AC71)
        #expect(Self.xxh(Self.hashData(40), seed: 12345) == 0x8B31_A802_4F75_6290)
        #expect(Self.xxh(Self.hashData(1000), seed: UInt64.max) == 0x1D14_C1B3_1BC5_F46D)
        // An empty buffer without a base address.
        #expect(XXHash64.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == 0xEF46_DB37_51D8_E999)
    }

    @Test func xxhash64StreamingEqualsOneShot() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-xxhash")
        var lengths = Array(0...200)
        lengths += [1000, 4096, 65_537, 1 << 20]
        for n in lengths {
            let data = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let hseed: UInt64 = Int.random(in: 0..<4, using: &rng) == 0 ? rng.next() : 0
            let oneShot = Self.xxh(data, seed: hseed)
            for _ in 0..<(n > 10_000 ? 2 : 4) {
                var h = XXHash64(seed: hseed)
                var i = 0
                while i < n {
                    let maxChunk = [1, 3, 7, 31, 32, 33, 64, 1000].randomElement(using: &rng)!
                    let c = min(n - i, Int.random(in: 0...maxChunk, using: &rng))
                    data[i..<(i + c)].withUnsafeBytes { h.update($0) }
                    i += c
                }
                h.update([])
                #expect(h.finalize() == oneShot, "seed \(seed) length \(n)")
                // finalize does not consume the state.
                #expect(h.finalize() == oneShot)
            }
            if n > 0 {
                var flipped = data
                flipped[Int.random(in: 0..<n, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                #expect(Self.xxh(flipped, seed: hseed) != oneShot, "one flipped bit, length \(n)")
            }
        }
        // The reference vectors, streamed one byte at a time.
        for (n, want) in Self.referenceHashes where n <= 4097 {
            var h = XXHash64()
            for b in Self.hashData(n) { h.update([b]) }
            #expect(h.finalize() == want, "bytewise length \(n)")
        }
    }

    // MARK: - FieldNorm

    @Test func fieldNormQuantisation() throws {
        var (rng, _) = SeededRandom.fromEnvironment("codec-norm")
        for n in UInt32(0)...40 {
            #expect(FieldNorm.encode(n) == UInt8(n))
            #expect(FieldNorm.decode(UInt8(n)) == n)
        }
        for c in 0...255 {
            #expect(FieldNorm.encode(FieldNorm.decode(UInt8(c))) == UInt8(c), "code \(c)")
            if c > 0 { #expect(FieldNorm.decode(UInt8(c)) > FieldNorm.decode(UInt8(c - 1)), "decode increasing at \(c)") }
        }
        var samples = Array(UInt32(0)...200_000)
        samples += (0..<20_000).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) }
        samples += [UInt32.max, UInt32.max - 1, FieldNorm.decode(255), FieldNorm.decode(255) + 1, FieldNorm.decode(255) - 1]
        samples.sort()
        var prevCode: UInt8 = 0
        for n in samples {
            let c = FieldNorm.encode(n)
            let d = FieldNorm.decode(c)
            #expect(d <= n, "decode(encode(\(n))) = \(d)")
            // Rounded down to the nearest code: the next code is already too long.
            if c < 255 { #expect(FieldNorm.decode(c + 1) > n, "length \(n) code \(c)") }
            #expect(c >= prevCode, "encode not monotone at \(n)")
            prevCode = c
        }
        #expect(FieldNorm.encode(UInt32.max) == 255)
    }

    // MARK: - Term dictionary

    struct DictEntry {
        var key: [UInt8]
        var info: TermInfo
    }

    /// Random sorted unique keys and entries following the writer's rules (offsets non-decreasing).
    static func randomDictionary(_ rng: inout SeededRandom, count: Int, textSlots: Int, slots: Int) -> [DictEntry] {
        var keys = Set<[UInt8]>()
        var pool: [[UInt8]] = []
        while keys.count < count {
            let slot = Int.random(in: 0..<slots, using: &rng)
            var k: [UInt8] = [UInt8(slot >> 8), UInt8(slot & 0xFF)]
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !pool.isEmpty:
                // Shares a long prefix with an earlier key (also a prefix of it, or an extension).
                let base = pool.randomElement(using: &rng)!
                k = Array(base.prefix(Int.random(in: 3...base.count, using: &rng)))
                for _ in 0..<Int.random(in: 0...4, using: &rng) { k.append(UInt8.random(in: 0...255, using: &rng)) }
            case 1:
                k += (0..<Int.random(in: 1...3, using: &rng)).map { _ in [0, 1, 0x7F, 0x80, 0xFF].randomElement(using: &rng)! }
            case 2:
                k += (0..<Int.random(in: 40...255, using: &rng)).map { _ in UInt8.random(in: 97...99, using: &rng) }
            case 3:
                // Word pairs of one first word: many keys whose first 8 bytes are the same (blocks
                // share their first key's first bytes: the block search compares whole keys).
                k += [0xFF, 4, 0x72, 0x75, 0x67, 0x73] + (0..<Int.random(in: 0...6, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default:
                k += (0..<Int.random(in: 1...12, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            guard k.count >= 3 else { continue }
            if keys.insert(k).inserted { pool.append(k) }
        }
        let sorted = keys.sorted { compareBytes2($0, $1) < 0 }
        var posOffset: UInt64 = UInt64.random(in: 0...10, using: &rng)
        var docsOffset: UInt64 = UInt64.random(in: 0...10, using: &rng)
        func bump(_ v: inout UInt64) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: break                                              // same offset as before
            case 1: v += UInt64.random(in: 1...(1 << 40), using: &rng)  // a big jump
            default: v += UInt64.random(in: 1...5000, using: &rng)
            }
        }
        return sorted.map { key in
            let slot = Int(key[0]) << 8 | Int(key[1])
            var info = TermInfo()
            let inline = Int.random(in: 0..<3, using: &rng) == 0
            info.docCount = inline ? 1 : [2, 3, 127, 128, 129, 1000, UInt32.max].randomElement(using: &rng)!
            if slot < textSlots {
                var mask = UInt32.random(in: 1...UInt32.max, using: &rng)
                if Int.random(in: 0..<3, using: &rng) > 0 { mask &= 0x1F }
                if mask == 0 { mask = 1 }
                info.fieldMask = mask
                let k = mask.nonzeroBitCount
                bump(&posOffset)
                info.posOffset = posOffset
                if inline {
                    info.inlineTfs = (0..<k).map { _ in
                        Int.random(in: 0..<8, using: &rng) == 0 ? UInt32.random(in: 256...UInt32.max, using: &rng)
                            : UInt32.random(in: 1...20, using: &rng)
                    }
                    info.fieldMinNorm = (0..<k).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    info.fieldDocFreq = info.inlineTfs.map { $0 > 0 ? 1 : 0 }
                    info.fieldMaxTf = info.inlineTfs.map { UInt8(min($0, 255)) }
                    info.posCount = info.inlineTfs.reduce(0) { $0 + UInt64($1) }
                    info.inlineDoc = UInt32.random(in: 0...UInt32.max, using: &rng)
                } else {
                    info.fieldDocFreq = (0..<k).map { _ in UInt32.random(in: 1...info.docCount, using: &rng) }
                    info.fieldMaxTf = (0..<k).map { _ in UInt8.random(in: 1...255, using: &rng) }
                    info.fieldMinNorm = (0..<k).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    info.posCount = Bool.random(using: &rng) ? UInt64.random(in: 2...100_000, using: &rng) : rng.next() >> 1
                    bump(&docsOffset)
                    info.docsOffset = docsOffset
                }
            } else if inline {
                info.inlineDoc = UInt32.random(in: 0...UInt32.max, using: &rng)
            } else {
                bump(&docsOffset)
                info.docsOffset = docsOffset
            }
            return DictEntry(key: key, info: info)
        }
    }

    /// The fields a dictionary entry stores (the reader leaves e.g. `inlineDoc` of a non-inline entry
    /// unspecified, so whole-struct equality is not the contract).
    static func sameEntry(_ a: TermInfo?, _ b: TermInfo) -> Bool {
        guard let a else { return false }
        guard a.docCount == b.docCount, a.fieldMask == b.fieldMask, a.fieldDocFreq == b.fieldDocFreq,
              a.fieldMaxTf == b.fieldMaxTf, a.fieldMinNorm == b.fieldMinNorm, a.posCount == b.posCount,
              a.posOffset == b.posOffset else { return false }
        if b.isInline { return a.inlineDoc == b.inlineDoc && a.inlineTfs == b.inlineTfs }
        return a.docsOffset == b.docsOffset
    }

    static func writeIndexFile(_ payload: [UInt8], kind: String, dir: String, name: String) throws -> IndexFile {
        let path = dir + "/" + name
        let w = try IndexFileWriter(path: path, kind: kind, version: 1)
        try w.write(payload)
        let (size, _) = try w.finish(sync: false)
        #expect(size == UInt64(payload.count + IndexFileFormat.headerSize + IndexFileFormat.footerSize))
        return try IndexFile(path: path, kind: kind, version: 1, verify: true)
    }

    func checkDictionary(_ entries: [DictEntry], textSlots: Int, dir: String, name: String, rng: inout SeededRandom,
                         context: String) throws {
        var w = TermDictionaryWriter(textSlotCount: textSlots)
        for e in entries { e.key.withUnsafeBufferPointer { w.add(key: $0, info: e.info) } }
        let file = try Self.writeIndexFile(w.finish(), kind: TermDictionaryFormat.kind, dir: dir, name: name)
        let dict = try TermDictionary(file: file)
        #expect(dict.termCount == UInt64(entries.count), "\(context): term count")
        #expect(dict.textSlotCount == textSlots)

        // Every key finds exactly its entry.
        for (i, e) in entries.enumerated() {
            let got = try dict.lookup(e.key)
            #expect(Self.sameEntry(got, e.info), "\(context): entry \(i) key \(e.key): \(String(describing: got)) vs \(e.info)")
        }
        // Full iteration in order.
        var it = try dict.makeIterator()
        var n = 0
        while try it.next() {
            guard n < entries.count else { Issue.record("\(context): iteration yields extra key \(it.key)"); break }
            #expect(it.key == entries[n].key, "\(context): iteration key \(n)")
            #expect(Self.sameEntry(it.info, entries[n].info), "\(context): iteration info \(n)")
            #expect(it.slot == Int(entries[n].key[0]) << 8 | Int(entries[n].key[1]))
            n += 1
        }
        #expect(n == entries.count, "\(context): iteration yielded \(n) of \(entries.count)")
        #expect(try it.next() == false, "\(context): next after the end")

        // Absent keys: random, just after each key, shortened keys, before the first, after the last.
        let present = Set(entries.map { $0.key })
        var probes: [[UInt8]] = [[], [0], [0, 0], [0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [UInt8](repeating: 0xFF, count: 300)]
        for e in entries.prefix(400) {
            probes.append(e.key + [0])
            probes.append(Array(e.key.dropLast()))
            var bumped = e.key
            bumped[bumped.count - 1] &+= 1
            probes.append(bumped)
        }
        // Around every block's first key (the blocks a look-up searches in the file lie between two
        // keys sampled in memory, `TermDictionary.sampleStride` blocks apart).
        var boundary: [[UInt8]] = []
        for b in stride(from: 0, to: entries.count, by: TermDictionaryFormat.blockEntries) {
            let k = entries[b].key
            boundary.append(k + [0])
            boundary.append(Array(k.dropLast()))
            var below = k
            if below[below.count - 1] > 0 { below[below.count - 1] -= 1 } else { below.removeLast() }
            boundary.append(below)
            if b > 0 { boundary.append(entries[b - 1].key + [0xFF]) }
        }
        probes += boundary
        for _ in 0..<300 { probes.append((0..<Int.random(in: 0...6, using: &rng)).map { _ in UInt8.random(in: 0...3, using: &rng) }) }
        for p in probes where !present.contains(p) {
            #expect(try dict.lookup(p) == nil, "\(context): absent key \(p) was found")
        }

        // seek: the first key >= target.
        let keys = entries.map { $0.key }
        func firstAtLeast(_ t: [UInt8]) -> Int {
            var lo = 0, hi = keys.count
            while lo < hi {
                let m = (lo + hi) / 2
                if compareBytes2(keys[m], t) < 0 { lo = m + 1 } else { hi = m }
            }
            return lo
        }
        let seeks = probes.prefix(600) + boundary + keys.shuffled(using: &rng).prefix(200)
        for t in seeks {
            var s = try dict.seek(t)
            let want = firstAtLeast(t)
            if want == keys.count {
                #expect(try s.next() == false, "\(context): seek \(t) past the end found \(s.key)")
            } else {
                #expect(try s.next(), "\(context): seek \(t) found nothing")
                #expect(s.key == keys[want], "\(context): seek \(t)")
                #expect(Self.sameEntry(s.info, entries[want].info), "\(context): seek \(t) info")
                // And iteration continues from there.
                if want + 1 < keys.count {
                    #expect(try s.next())
                    #expect(s.key == keys[want + 1], "\(context): after seek \(t)")
                }
            }
        }
    }

    @Test func termDictionaryRoundTrip() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-dict")
        let dir = temporaryDirectory("dict")
        defer { removeDirectory(dir) }
        // Counts around whole blocks and around the in-memory samples (8 blocks apart: 256 terms).
        for (i, count) in [0, 1, 2, 31, 32, 33, 64, 65, 255, 256, 257, 288, 289, 512, 513, 545, 2500, 6000].enumerated() {
            let textSlots = Int.random(in: 0...3, using: &rng)
            let slots = textSlots + Int.random(in: 1...3, using: &rng)
            let entries = Self.randomDictionary(&rng, count: count, textSlots: textSlots, slots: slots)
            try checkDictionary(entries, textSlots: textSlots, dir: dir, name: "d\(i).terms", rng: &rng,
                                context: "seed \(seed) dict \(count) terms")
        }
        // Slots above 255 (the big-endian slot prefix has a high byte).
        let entries = Self.randomDictionary(&rng, count: 300, textSlots: 300, slots: 600)
        try checkDictionary(entries, textSlots: 300, dir: dir, name: "wide.terms", rng: &rng, context: "seed \(seed) wide slots")
    }

    // MARK: - Stored fields

    static let stringPieces = ["a", "Sofa", " ", "", "é", "e\u{301}", "日本語", "🛋️", "👩‍👩‍👧", "\u{0}", "\u{FFFD}",
                               "\u{10FFFF}", "Ω", "ß", "\n\t", "\"quoted\"", "٣", "🇫🇷", "x"]

    static func randomString(_ rng: inout SeededRandom, maxPieces: Int) -> String {
        (0..<Int.random(in: 0...maxPieces, using: &rng)).map { _ in stringPieces.randomElement(using: &rng)! }.joined()
    }

    static func randomValue(_ rng: inout SeededRandom, depth: Int) -> StoredValue {
        switch Int.random(in: 0..<(depth < 4 ? 7 : 6), using: &rng) {
        case 0, 1:
            if Int.random(in: 0..<200, using: &rng) == 0 {
                return .string(String(repeating: "long text ", count: Int.random(in: 1000...5000, using: &rng)))
            }
            return .string(randomString(&rng, maxPieces: 10))
        case 2:
            let specials: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.5]
            return .double(Bool.random(using: &rng) ? specials.randomElement(using: &rng)! : Double(bitPattern: rng.next()))
        case 3:
            return .int(Bool.random(using: &rng) ? [Int64.min, Int64.max, 0, -1, 1].randomElement(using: &rng)!
                        : Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng))
        case 4: return .bool(false)
        case 5: return .bool(true)
        default:
            return .list((0..<Int.random(in: 0...5, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        }
    }

    /// Equality that tells NaNs, -0.0 and different UTF-8 spellings apart.
    static func identical(_ a: StoredValue, _ b: StoredValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return Array(x.utf8) == Array(y.utf8)
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.int(let x), .int(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        default: return false
        }
    }

    static func identical(_ a: [(field: Int, value: StoredValue)], _ b: [(field: UInt16, value: StoredValue)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.field == Int($1.field) && identical($0.value, $1.value) }
    }

    @Test func storedFieldsRoundTrip() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-stored")
        let dir = temporaryDirectory("stored")
        defer { removeDirectory(dir) }
        for (round, count) in [0, 1, 7, 4000].enumerated() {
            var docs: [[(field: UInt16, value: StoredValue)]] = []
            var w = StoredFieldsWriter()
            for _ in 0..<count {
                let n = Int.random(in: 0..<6, using: &rng) == 0 ? 0 : Int.random(in: 1...8, using: &rng)
                let doc: [(field: UInt16, value: StoredValue)] = (0..<n).map { _ in
                    (UInt16.random(in: 0...(Bool.random(using: &rng) ? 10 : UInt16.max), using: &rng), Self.randomValue(&rng, depth: 0))
                }
                docs.append(doc)
                w.add(doc)
            }
            let file = try Self.writeIndexFile(w.finish(), kind: StoredFieldsFormat.kind, dir: dir, name: "s\(round).store")
            let r = try StoredFieldsReader(file: file)
            #expect(r.docCount == count)
            if count == 4000 { #expect(r.blockCount >= 3, "seed \(seed): only \(r.blockCount) blocks") }
            // Random access, in random order; some with only a few fields asked for (the others,
            // and the documents before it in its block, skipped without being built).
            for d in (0..<count).shuffled(using: &rng) {
                let got = try r.document(d)
                #expect(Self.identical(got, docs[d]), "seed \(seed) doc \(d) of \(count)")
                let only = Set((0..<3).map { _ in Int(docs[d].randomElement(using: &rng)?.field ?? 0) })
                let some = try r.document(d, only: only)
                #expect(Self.identical(some, docs[d].filter { only.contains(Int($0.field)) }), "seed \(seed) doc \(d) only \(only)")
            }
            // Sequential.
            var i = 0
            try r.forEachDocument { values in
                if i < count { #expect(Self.identical(values, docs[i]), "seed \(seed) forEachDocument doc \(i)") }
                i += 1
            }
            #expect(i == count)
            // Out of range.
            for bad in [-1, count, count + 1, Int.max] {
                #expect(throws: IndexError.self) { _ = try r.document(bad) }
            }
        }
    }

    /// Lists up to four levels deep read back (the depth the reader accepts).
    @Test func storedNestedListsFourLevels() throws {
        let dir = temporaryDirectory("stored-nest")
        defer { removeDirectory(dir) }
        let v: StoredValue = .list([.list([.list([.list([.int(7), .string("deep")])])]), .bool(true)])
        var w = StoredFieldsWriter()
        w.add([(3, v)])
        let r = try StoredFieldsReader(file: try Self.writeIndexFile(w.finish(), kind: StoredFieldsFormat.kind, dir: dir, name: "n.store"))
        let got = try r.document(0)
        #expect(got.count == 1 && got[0].field == 3 && Self.identical(got[0].value, v))
    }

    /// Whatever `IndexWriter.add` accepts must read back (or be rejected when added): a stored list
    /// nested five deep, an id longer than 64 KiB, a document with more than 65536 stored values.
    @Test(arguments: ["nested lists", "long id", "many stored values"])
    func documentsTheWriterAcceptsReadBack(_ kind: String) throws {
        let dir = temporaryDirectory("accept")
        defer { removeDirectory(dir) }
        let schema = Schema(idField: "id", fields: [
            FieldDefinition(name: "id", type: .keyword, stored: true),
            FieldDefinition(name: "title", type: .text, analyzer: "plain", stored: true),
        ])
        let w = try IndexWriter(creating: dir, schema: schema, options: .init(sync: false))
        var doc = IndexDocument()
        doc.id = kind == "long id" ? String(repeating: "x", count: 70_000) : "A"
        doc.addToken(field: 1, term: "word", position: 0)
        let value: StoredValue = .list([.list([.list([.list([.list([.string("five")])])])])])
        if kind == "nested lists" { doc.addStored(field: 1, value: value) }
        if kind == "many stored values" { for i in 0..<70_000 { doc.addStored(field: 1, value: .int(Int64(i))) } }
        do {
            try w.add(doc)
        } catch let e as IndexError {
            // Rejecting it up front is fine.
            guard case .invalidDocument = e else { throw e }
            return
        }
        try w.commit()
        let s = try Searcher.open(directory: dir)
        #expect(try s.id(of: 0) == doc.id, "\(kind): id")
        let stored = try s.storedFields(of: 0)
        #expect(stored.count == doc.stored.count, "\(kind): stored values")
        if kind == "nested lists" { #expect(stored.first.map { Self.identical($0.value, value) } == true) }
        #expect(try s.doc(forId: doc.id) == 0, "\(kind): doc for id")
    }

    // MARK: - Id column

    @Test func idColumnRoundTripAndFind() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-ids")
        let dir = temporaryDirectory("idcol")
        defer { removeDirectory(dir) }
        for (round, count) in [0, 1, 15, 16, 17, 33, 3000].enumerated() {
            var set = Set<String>()
            while set.count < count {
                var s: String
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: s = "SKU-" + String(Int.random(in: 0...99_999_999, using: &rng))
                case 1: s = "common-prefix-that-is-long-" + Self.randomString(&rng, maxPieces: 3)
                case 2: s = Self.randomString(&rng, maxPieces: 5)
                default: s = String(repeating: "z", count: Int.random(in: 1...300, using: &rng))
                }
                set.insert(s)
            }
            // Unicode-equal strings collapse in a Set; keep ids distinct as bytes.
            var byBytes = [[UInt8]: String]()
            for s in set { byBytes[Array(s.utf8)] = s }
            let ids = Array(byBytes.values)
            for sorted in [false, true] {
                let order = sorted ? ids.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } : ids.shuffled(using: &rng)
                var w = IdColumnWriter()
                for id in order { w.add(id) }
                let file = try Self.writeIndexFile(w.finish(), kind: IdColumnFormat.kind, dir: dir, name: "i\(round)\(sorted).ids")
                let r = try IdColumnReader(file: file)
                #expect(r.docCount == order.count)
                for (d, id) in order.enumerated() {
                    let got = try r.id(d)
                    #expect(Array(got.utf8) == Array(id.utf8), "seed \(seed): id of doc \(d)")
                }
                #expect(throws: IndexError.self) { _ = try r.id(order.count) }
                #expect(throws: IndexError.self) { _ = try r.id(-1) }
                guard sorted else { continue }
                for (d, id) in order.enumerated() {
                    #expect(try r.find(id) == d, "seed \(seed): find \(id)")
                }
                var absent = ["", "\u{0}", "SKU-", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" + "{", "\u{10FFFF}\u{10FFFF}"]
                for id in order.prefix(200) { absent.append(id + "\u{0}"); absent.append(String(id.dropLast())) }
                let present = Set(order.map { Array($0.utf8) })
                let presentStrings = Set(order)   // canonical equivalence: see idColumnFindIsByteExact
                for a in absent where !present.contains(Array(a.utf8)) && !presentStrings.contains(a) {
                    #expect(try r.find(a) == nil, "seed \(seed): absent id \(a.debugDescription) found")
                }
            }
        }
    }

    /// `find` compares ids as bytes (like the dictionary does for unsorted segments), so an id that is
    /// only canonically equivalent to a stored one is not the same id.
    @Test func idColumnFindIsByteExact() throws {
        let dir = temporaryDirectory("idcol-nfc")
        defer { removeDirectory(dir) }
        var w = IdColumnWriter()
        let ids = ["a", "caf\u{E9}"]   // precomposed é
        for id in ids { w.add(id) }
        let r = try IdColumnReader(file: try Self.writeIndexFile(w.finish(), kind: IdColumnFormat.kind, dir: dir, name: "n.ids"))
        #expect(try r.find("caf\u{E9}") == 1)
        // Decomposed e + combining acute: different bytes, different id.
        #expect(try r.find("cafe\u{301}") == nil, "a canonically equivalent but different id was found")
    }

    // MARK: - Commit files

    static func randomMeta(_ rng: inout SeededRandom, generation: UInt64) -> IndexMeta {
        var meta = IndexMeta(schema: Schema(idField: "id", fields: [
            FieldDefinition(name: "id", type: .keyword, stored: true),
            FieldDefinition(name: "title", type: .text, analyzer: "english", boost: Float.random(in: 0.1...10, using: &rng), stored: true),
            FieldDefinition(name: "brand", type: .text, analyzer: "plain", boost: 2.5, keyword: true),
            FieldDefinition(name: "price", type: .numeric, stored: true, source: "offers[0].price"),
            FieldDefinition(name: "attributes.*", type: .keyword),
        ], bm25: BM25Parameters(k1: Float.random(in: 0...3, using: &rng), b: Float.random(in: 0...1, using: &rng)), format: "jsonl"))
        meta.generation = generation
        meta.nextSegment = Int.random(in: 1...1000, using: &rng)
        meta.userData = ["corpus": randomString(&rng, maxPieces: 4), "note": "ünïcödé \u{1F6CB}"]
        meta.segments = (0..<Int.random(in: 0...4, using: &rng)).map { i in
            SegmentMeta(id: segmentName(i + 1), docCount: Int.random(in: 0...1_000_000, using: &rng), fieldCount: 5,
                        textFieldStats: [FieldStats(sumLength: rng.next() >> 8, docCount: UInt32.random(in: 0...UInt32.max, using: &rng)),
                                         FieldStats()],
                        files: ["\(segmentName(i + 1)).terms": FileInfo(size: rng.next() >> 20, checksum: rng.next())],
                        idsSorted: Bool.random(using: &rng))
        }
        return meta
    }

    @Test func commitFilesRoundTripAndLatest() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-commit")
        let dir = temporaryDirectory("commit")
        defer { removeDirectory(dir) }
        #expect(throws: IndexError.notAnIndex(path: dir)) { _ = try IndexMeta.readLatest(directory: dir) }
        #expect(throws: IndexError.notAnIndex(path: dir + "/nope")) { _ = try IndexMeta.readLatest(directory: dir + "/nope") }
        var metas: [UInt64: IndexMeta] = [:]
        for gen: UInt64 in [1, 2, 9, 10, 3] {
            let m = Self.randomMeta(&rng, generation: gen)
            let path = try m.write(directory: dir, sync: false)
            #expect(path == dir + "/commit_\(gen)")
            #expect(try IndexMeta.read(path: path) == m, "seed \(seed): commit \(gen)")
            metas[gen] = m
        }
        // The highest generation, numerically (10, not 9).
        #expect(try IndexMeta.readLatest(directory: dir) == metas[10], "seed \(seed)")
        // An unfinished commit with a higher number is ignored, as are unrelated names.
        var newer = Self.randomMeta(&rng, generation: 11)
        newer.userData["state"] = "unfinished"
        let p = try newer.write(directory: dir, sync: false)
        try FileSystem.rename(p, p + ".tmp")
        FileManager.default.createFile(atPath: dir + "/commit_x", contents: Data([1, 2, 3]))
        FileManager.default.createFile(atPath: dir + "/commit_", contents: Data())
        FileManager.default.createFile(atPath: dir + "/seg_000001.terms", contents: Data())
        #expect(try IndexMeta.readLatest(directory: dir) == metas[10])
        #expect(try IndexMeta.generations(in: dir) == [10, 9, 3, 2, 1])
        // A commit rewritten at the same generation replaces it.
        let again = Self.randomMeta(&rng, generation: 10)
        try again.write(directory: dir, sync: false)
        #expect(try IndexMeta.readLatest(directory: dir) == again)
        #expect(!FileSystem.exists(dir + "/commit_10.tmp"))
    }
}

// MARK: - Postings

/// A corpus with known tokens and positions for checking postings, dictionary entries, norms, stored
/// fields and ids of real segments against a model.
struct PostingsFixture {
    static let schema = Schema(idField: "id", fields: [
        FieldDefinition(name: "id", type: .keyword, stored: true),
        FieldDefinition(name: "title", type: .text, analyzer: "plain", stored: true),
        FieldDefinition(name: "body", type: .text, analyzer: "plain"),
        FieldDefinition(name: "tags", type: .text, analyzer: "plain", keyword: true),
        FieldDefinition(name: "sku", type: .text, analyzer: "keyword"),
        FieldDefinition(name: "color", type: .keyword, stored: true),
    ])
    static let title = 1, body = 2, tags = 3, sku = 4, color = 5

    struct Doc {
        var id: String
        var text: [Int: [(term: String, pos: UInt32)]] = [:]
        var keywords: [Int: [String]] = [:]
        var stored: [(field: UInt16, value: StoredValue)] = []
    }

    var docs: [Doc] = []

    init(count: Int, shuffledIds: Bool, rng: inout SeededRandom) {
        var ids = (0..<count).map { String(format: "D%06d", $0 * 7) }
        if shuffledIds { ids.shuffle(using: &rng) }
        for i in 0..<count {
            var d = Doc(id: ids[i])
            for f in [Self.title, Self.body, Self.tags] {
                let r = Int.random(in: 0..<100, using: &rng)
                let len = r < 20 ? 0 : r < 80 ? Int.random(in: 1...10, using: &rng) : r < 96 ? Int.random(in: 30...80, using: &rng)
                    : Int.random(in: 200...450, using: &rng)
                var pos = UInt32.random(in: 0...3, using: &rng)
                var toks: [(term: String, pos: UInt32)] = []
                for _ in 0..<len {
                    toks.append(("v\(rng.zipf(150))", pos))
                    let s = Int.random(in: 0..<200, using: &rng)
                    // Mostly consecutive; sometimes two tokens at one position (synonyms), gaps, huge gaps.
                    pos += s < 6 ? 0 : s < 170 ? 1 : s < 198 ? UInt32.random(in: 2...6, using: &rng) : UInt32.random(in: 1000...70_000, using: &rng)
                }
                if !toks.isEmpty { d.text[f] = toks }
            }
            if Int.random(in: 0..<3, using: &rng) > 0 {
                d.text[Self.sku] = [("SKU-\(Int.random(in: 0..<40, using: &rng))", 0)]
                if Int.random(in: 0..<5, using: &rng) == 0 { d.text[Self.sku]!.append(("SKU-\(Int.random(in: 0..<40, using: &rng))", 100)) }
            }
            let colors = (0..<Int.random(in: 0...3, using: &rng)).map { _ in ["red", "green", "blue"].randomElement(using: &rng)! }
            if !colors.isEmpty { d.keywords[Self.color] = colors }  // duplicates on purpose
            if Int.random(in: 0..<2, using: &rng) == 0 { d.keywords[Self.tags] = ["tag \(Int.random(in: 0..<12, using: &rng))"] }
            docs.append(d)
        }
        // Terms with exact document counts (block boundaries), in one to three fields of the group.
        func appendToken(_ doc: Int, _ f: Int, _ term: String, tf: Int) {
            let last = docs[doc].text[f]?.last?.pos ?? 0
            for t in 0..<tf { docs[doc].text[f, default: []].append((term, last + 1 + UInt32(t) * 2)) }
        }
        for n in [1, 2, 127, 128, 129, 255, 256, 257] where n <= count {
            for doc in Array(0..<count).shuffled(using: &rng).prefix(n) {
                var fields = [Self.title, Self.body, Self.tags].filter { _ in Bool.random(using: &rng) }
                if fields.isEmpty { fields = [[Self.title, Self.body, Self.tags].randomElement(using: &rng)!] }
                for f in fields { appendToken(doc, f, "c\(n)", tf: Int.random(in: 1...3, using: &rng)) }
            }
            for doc in Array(0..<count).shuffled(using: &rng).prefix(n) {
                docs[doc].keywords[Self.color, default: []].append("k\(n)")
            }
        }
        for doc in Array(0..<count).shuffled(using: &rng).prefix(min(count, 129)) {
            docs[doc].text[Self.sku, default: []].append(("skuc129", 200))
        }
        // Term frequencies above 255 (saturated bounds), and an inline term in all three fields.
        for doc in Array(0..<count).shuffled(using: &rng).prefix(3) { appendToken(doc, Self.body, "rep", tf: Int.random(in: 256...400, using: &rng)) }
        // A term of one document with more positions than a positions block holds (inline entry).
        if count > 0 {
            let d = Int.random(in: 0..<count, using: &rng)
            appendToken(d, Self.title, "many1", tf: 100)
            appendToken(d, Self.tags, "many1", tf: Int.random(in: 29...200, using: &rng))
        }
        if count > 0 {
            let d = Int.random(in: 0..<count, using: &rng)
            for f in [Self.title, Self.body, Self.tags] { appendToken(d, f, "single3", tf: f) }
        }
        for i in docs.indices {
            var s: [(field: UInt16, value: StoredValue)] = [(0, .string(docs[i].id))]
            if let t = docs[i].text[Self.title] { s.append((UInt16(Self.title), .string(t.map { $0.term }.joined(separator: " ")))) }
            if let c = docs[i].keywords[Self.color] { s.append((UInt16(Self.color), .list(c.map { .string($0) }))) }
            docs[i].stored = s
        }
    }

    static func indexDocument(_ d: Doc, into doc: inout IndexDocument) {
        doc.reset()
        doc.id = d.id
        for (f, toks) in d.text.sorted(by: { $0.key < $1.key }) {
            for t in toks { doc.addToken(field: f, term: t.term, position: Int32(t.pos)) }
        }
        for (f, vals) in d.keywords.sorted(by: { $0.key < $1.key }) { for v in vals { doc.addKeyword(field: f, value: v) } }
        for (f, v) in d.stored { doc.addStored(field: Int(f), value: v) }
    }

    struct Expected {
        var docs: [UInt32] = []
        var mask: UInt32 = 0
        /// Per doc, per group member: tf and positions.
        var tfs: [[UInt32]] = []
        var positions: [[[UInt32]]] = []
    }

    /// Every dictionary key of a segment holding `docs` (local doc = index), with its postings.
    static func expected(_ docs: [Doc], layout: SchemaLayout, idsSorted: Bool) -> [[UInt8]: Expected] {
        var out: [[UInt8]: Expected] = [:]
        for (d, doc) in docs.enumerated() {
            for (g, group) in layout.textGroups.enumerated() {
                for (m, f) in group.fields.enumerated() {
                    var byTerm: [String: [UInt32]] = [:]
                    for t in doc.text[f] ?? [] { byTerm[t.term, default: []].append(t.pos) }
                    for (term, ps) in byTerm {
                        let key = SegmentReader.key(slot: g, term: Array(term.utf8))
                        var e = out[key] ?? Expected()
                        if e.docs.last != UInt32(d) {
                            e.docs.append(UInt32(d))
                            e.tfs.append([UInt32](repeating: 0, count: group.fields.count))
                            e.positions.append([[UInt32]](repeating: [], count: group.fields.count))
                        }
                        e.tfs[e.tfs.count - 1][m] = UInt32(ps.count)
                        e.positions[e.positions.count - 1][m] = ps.sorted()
                        e.mask |= 1 << UInt32(m)
                        out[key] = e
                    }
                }
            }
            for (s, f) in layout.keywordFields.enumerated() {
                let slot = layout.textGroups.count + s
                var values = doc.keywords[f] ?? []
                if f == layout.idOrdinal && !idsSorted { values.append(doc.id) }
                for v in Set(values) {
                    let key = SegmentReader.key(slot: slot, term: Array(v.utf8))
                    var e = out[key] ?? Expected()
                    e.docs.append(UInt32(d))
                    out[key] = e
                }
            }
        }
        return out
    }
}

extension CodecRoundTripTests {
    func verify(segment seg: SegmentReader, docs: [PostingsFixture.Doc], layout: SchemaLayout, rng: inout SeededRandom,
                context: String) throws {
        let n = docs.count
        #expect(seg.docCount == n, "\(context): doc count")
        // Norms and field statistics.
        for (ti, f) in layout.textFields.enumerated() {
            let norms = seg.norms(textField: ti)
            var sum: UInt64 = 0, withField: UInt32 = 0
            for d in 0..<n {
                let len = UInt32(docs[d].text[f]?.count ?? 0)
                #expect(norms[d] == FieldNorm.encode(len), "\(context): norm of doc \(d) field \(f)")
                sum += UInt64(len)
                if len > 0 { withField += 1 }
            }
            #expect(seg.meta.textFieldStats[ti] == FieldStats(sumLength: sum, docCount: withField), "\(context): stats of field \(f)")
        }
        // Stored fields and ids.
        let idSlot = layout.keywordSlotOfField[layout.idOrdinal]!
        for d in 0..<n {
            #expect(Self.identical(try seg.stored.document(d), docs[d].stored), "\(context): stored doc \(d)")
            #expect(try seg.ids.id(d) == docs[d].id, "\(context): id of doc \(d)")
            #expect(try seg.doc(forId: docs[d].id, idSlot: idSlot) == d, "\(context): doc for id \(docs[d].id)")
        }
        #expect(try seg.doc(forId: "nope", idSlot: idSlot) == nil)

        let expected = PostingsFixture.expected(docs, layout: layout, idsSorted: seg.meta.idsSorted)
        let keys = expected.keys.sorted { compareBytes2($0, $1) < 0 }
        // The dictionary holds exactly the expected keys, in order.
        var it = try seg.terms.makeIterator()
        var found: [[UInt8]] = []
        while try it.next() { found.append(it.key) }
        #expect(found.count == keys.count, "\(context): \(found.count) keys, expected \(keys.count)")
        if found != keys {
            let extra = Set(found).subtracting(keys).prefix(5).map { String(decoding: $0.dropFirst(2), as: UTF8.self) }
            let missing = Set(keys).subtracting(found).prefix(5).map { String(decoding: $0.dropFirst(2), as: UTF8.self) }
            Issue.record("\(context): dictionary keys differ; extra \(extra), missing \(missing)")
        }

        for key in keys {
            let e = expected[key]!
            let slot = Int(key[0]) << 8 | Int(key[1])
            let text = layout.isTextSlot(slot)
            let label = "\(context) slot \(slot) term \(String(decoding: key.dropFirst(2), as: UTF8.self))"
            guard let info = try seg.terms.lookup(key) else {
                Issue.record("\(label): not in the dictionary")
                continue
            }
            try verifyTerm(seg, info: info, expected: e, text: text, slot: slot, docs: docs, layout: layout, rng: &rng, label: label)
        }
        // Absent terms.
        for t in ["", "zzz", "v", "c1000", "SKU-999", "v1x"] {
            #expect(try seg.termInfo(slot: 0, term: Array(t.utf8)) == nil || expected[SegmentReader.key(slot: 0, term: Array(t.utf8))] != nil)
        }
    }

    func verifyTerm(_ seg: SegmentReader, info: TermInfo, expected e: PostingsFixture.Expected, text: Bool, slot: Int,
                    docs: [PostingsFixture.Doc], layout: SchemaLayout, rng: inout SeededRandom, label: String) throws {
        let n = e.docs.count
        let members: [Int] = text ? (0..<32).filter { e.mask & (1 << UInt32($0)) != 0 } : []
        let k = members.count
        let groupFields = text ? layout.textGroups[slot].fields : []
        func norm(_ doc: UInt32, member m: Int) -> UInt8 {
            let ti = layout.textFields.firstIndex(of: groupFields[m])!
            return seg.norms(textField: ti)[Int(doc)]
        }
        // Dictionary entry.
        #expect(info.docCount == UInt32(n), "\(label): docCount")
        #expect(info.fieldMask == e.mask, "\(label): field mask")
        if text {
            var df: [UInt32] = [], maxTf: [UInt8] = [], minNorm: [UInt8] = []
            var total: UInt64 = 0
            for m in members {
                var c: UInt32 = 0, mt: UInt32 = 0, mn: UInt8 = 255
                for (i, d) in e.docs.enumerated() where e.tfs[i][m] > 0 {
                    c += 1
                    mt = max(mt, e.tfs[i][m])
                    mn = min(mn, norm(d, member: m))
                    total += UInt64(e.tfs[i][m])
                }
                df.append(c); maxTf.append(UInt8(min(mt, 255))); minNorm.append(mn)
            }
            #expect(info.fieldDocFreq == df, "\(label): field doc freqs")
            #expect(info.fieldMaxTf == maxTf, "\(label): field max tf")
            #expect(info.fieldMinNorm == minNorm, "\(label): field min norm")
            #expect(info.posCount == total, "\(label): position count")
        }
        if n == 1 {
            #expect(info.isInline)
            #expect(info.inlineDoc == e.docs[0], "\(label): inline doc")
            if text { #expect(info.inlineTfs == members.map { e.tfs[0][$0] }, "\(label): inline tfs") }
        }

        var posBuf: [UInt32] = []
        var starts: [Int] = []
        func checkCurrent(_ c: PostingsCursor, _ i: Int, positions: Bool, tfFirst: Bool) {
            guard text else { return }
            func checkTfs() {
                for (j, m) in members.enumerated() {
                    #expect(c.tf(j) == e.tfs[i][m], "\(label): tf of doc \(e.docs[i]) field member \(m)")
                }
            }
            if tfFirst { checkTfs() }
            if positions {
                let ok = c.positions(into: &posBuf, fieldStarts: &starts)
                #expect(ok, "\(label): positions of doc \(e.docs[i]) failed")
                if ok {
                    #expect(starts.count == k + 1)
                    for (j, m) in members.enumerated() where j + 1 < starts.count {
                        #expect(Array(posBuf[starts[j]..<starts[j + 1]]) == e.positions[i][m],
                                "\(label): positions of doc \(e.docs[i]) member \(m)")
                    }
                }
            }
            if !tfFirst { checkTfs() }
        }

        // 1. Full iteration.
        let c = try seg.postings(info, text: text)
        for (i, d) in e.docs.enumerated() {
            let got = c.nextDoc()
            #expect(got == d, "\(label): doc \(i)")
            guard got == d else { break }
            #expect(c.doc == d)
            checkCurrent(c, i, positions: Int.random(in: 0..<4, using: &rng) > 0, tfFirst: Bool.random(using: &rng))
        }
        #expect(c.nextDoc() == PostingsCursor.noMoreDocs, "\(label): end")
        #expect(c.nextDoc() == PostingsCursor.noMoreDocs)
        #expect(c.corruption == nil, "\(label): \(c.corruption ?? "")")
        if !text {
            // Keyword slots have no positions.
            let kc = try seg.postings(info, text: false)
            kc.nextDoc()
            #expect(!kc.positions(into: &posBuf, fieldStarts: &starts))
        }

        // 2. advance / nextDoc to random targets, including docs not in the list and beyond the end.
        let maxDoc = UInt32(seg.docCount)
        let a = try seg.postings(info, text: text)
        var cur = -1
        var done = false
        for _ in 0..<min(60, 2 * n + 4) {
            let r = Int.random(in: 0..<10, using: &rng)
            var want: Int
            let got: UInt32
            if r == 0 {
                got = a.nextDoc()
                want = done ? n : cur + 1
            } else {
                let target: UInt32
                switch r {
                case 1: target = UInt32.random(in: 0...(maxDoc + 3), using: &rng)
                case 2: target = e.docs[Int.random(in: 0..<n, using: &rng)] &+ 1
                case 3: target = cur >= 0 && cur < n ? e.docs[cur] : 0                         // where it is already
                case 4: target = cur > 0 && cur < n ? e.docs[Int.random(in: 0..<cur, using: &rng)] : 0   // backwards
                case 5: target = Int.random(in: 0..<6, using: &rng) == 0 ? PostingsCursor.noMoreDocs : maxDoc + 1
                default:
                    // Forward, to a listed doc a little or a lot ahead.
                    let from = max(cur, 0)
                    let to = min(n - 1, from + (Bool.random(using: &rng) ? 3 : 300))
                    target = from <= to ? e.docs[Int.random(in: from...to, using: &rng)] : maxDoc
                }
                got = a.advance(target)
                if done {
                    want = n
                } else if cur >= 0 && e.docs[cur] >= target {
                    want = cur
                } else {
                    want = max(cur, 0)
                    while want < n && e.docs[want] < target { want += 1 }
                }
            }
            want = min(want, n)
            let wantDoc = want == n ? PostingsCursor.noMoreDocs : e.docs[want]
            #expect(got == wantDoc, "\(label): step to \(wantDoc), got \(got)")
            guard got == wantDoc else { break }
            cur = want
            done = want == n
            if !done { checkCurrent(a, cur, positions: Int.random(in: 0..<3, using: &rng) == 0, tfFirst: Bool.random(using: &rng)) }
        }
        #expect(a.corruption == nil)

        // 3. shallowAdvance + blockBound: true (here: exact) bounds of every doc's (tf, norm) in its block.
        let bs = PostingsFormat.blockSize
        func blockBounds(_ b: Int) -> [(UInt8, UInt8)] {
            let range = n > bs ? (b * bs)..<min(n, (b + 1) * bs) : 0..<n
            return members.map { m in
                var mt: UInt32 = 0, mn: UInt8 = 255
                for i in range where e.tfs[i][m] > 0 { mt = max(mt, e.tfs[i][m]); mn = min(mn, norm(e.docs[i], member: m)) }
                return (UInt8(min(mt, 255)), mn)
            }
        }
        let s = try seg.postings(info, text: text)
        var i = 0
        while i < n {
            let d = e.docs[i]
            let last = s.shallowAdvance(d)
            let b = i / bs
            if n > bs {
                #expect(last == e.docs[min(n, (b + 1) * bs) - 1], "\(label): shallowAdvance(\(d)) block end")
            } else {
                #expect(last != PostingsCursor.noMoreDocs && last >= d, "\(label): shallowAdvance(\(d)) = \(last)")
            }
            let want = blockBounds(b)
            let lo = n > bs ? b * bs : 0, hi = n > bs ? min(n, (b + 1) * bs) : n
            if n > bs && s.blockVectors > 1 {
                // Impact vectors: every doc of the block is covered by one of them (tf at least, norm
                // at most, in each field where the doc has the term), and none is looser than the
                // block's field-wise maxima.
                let vs = (0..<s.blockVectors).map { v in (0..<k).map { j in s.blockBound(v, j) } }
                for x in lo..<hi {
                    let covered = vs.contains { vec in
                        (0..<k).allSatisfy { j in
                            let t = e.tfs[x][members[j]]
                            return t == 0 || ((vec[j].maxTf == 255 || UInt32(vec[j].maxTf) >= t)
                                              && vec[j].minNorm <= norm(e.docs[x], member: members[j]))
                        }
                    }
                    #expect(covered, "\(label): doc \(e.docs[x]) of block \(b) is above every impact vector \(vs)")
                }
                for vec in vs {
                    for j in 0..<k where vec[j].maxTf > 0 {
                        #expect(vec[j].maxTf <= want[j].0 && vec[j].minNorm >= want[j].1,
                                "\(label): block \(b) vector \(vec) looser than the maxima \(want)")
                    }
                }
            } else {
                #expect(s.blockVectors == 1 || n <= bs)
                for j in 0..<k {
                    let got = s.blockBound(0, j)
                    #expect(got.maxTf == want[j].0 && got.minNorm == want[j].1,
                            "\(label): block \(b) bound \(j) is \(got), expected \(want[j])")
                    // And it bounds every doc of the block.
                    for x in lo..<hi where e.tfs[x][members[j]] > 0 {
                        #expect(got.maxTf == 255 || UInt32(got.maxTf) >= e.tfs[x][members[j]], "\(label): tf above block bound")
                        #expect(got.minNorm <= norm(e.docs[x], member: members[j]), "\(label): norm below block bound")
                    }
                }
            }
            i += Int.random(in: 1...40, using: &rng)
        }
        if n > bs, let lastDoc = e.docs.last, lastDoc < UInt32.max - 1 {
            #expect(s.shallowAdvance(lastDoc + 1) == PostingsCursor.noMoreDocs, "\(label): shallowAdvance past the end")
        }
        // Interleaved with advance, as the block-max loops use it: the block of the current doc.
        let t = try seg.postings(info, text: text)
        i = 0
        while i < n {
            let d = t.advance(e.docs[i])
            #expect(d == e.docs[i])
            let last = t.shallowAdvance(d)
            #expect(last == e.docs[n > bs ? min(n, (i / bs + 1) * bs) - 1 : n - 1], "\(label): shallowAdvance after advance(\(d))")
            i += Int.random(in: 1...100, using: &rng)
        }
    }

    /// A term that occurs in a single document is stored inline in the dictionary, but its positions
    /// still go to the positions file in blocks of 128; more than 128 of them must all read back.
    @Test(arguments: [129, 200, 300])
    func inlineTermWithMoreThan128Positions(tf: Int) throws {
        let dir = temporaryDirectory("inline-pos")
        defer { removeDirectory(dir) }
        let layout = try SchemaLayout(PostingsFixture.schema)
        let w = SegmentWriter(layout: layout)
        var doc = IndexDocument()
        doc.id = "A"
        for i in 0..<tf { doc.addToken(field: PostingsFixture.body, term: "word", position: Int32(3 * i)) }
        doc.addToken(field: PostingsFixture.body, term: "other", position: Int32(3 * tf))
        try w.add(doc)
        let meta = try w.flush(directory: dir, segmentId: "seg_000001", sync: false)
        let seg = try SegmentReader(directory: dir, meta: meta, textFieldCount: layout.textFields.count, verify: true)
        let info = try #require(try seg.termInfo(slot: 0, term: Array("word".utf8)))
        #expect(info.isInline)
        #expect(info.posCount == UInt64(tf))
        let c = try seg.postings(info, text: true)
        #expect(c.nextDoc() == 0)
        #expect(c.tf(0) == UInt32(tf))
        var pos: [UInt32] = [], starts: [Int] = []
        #expect(c.positions(into: &pos, fieldStarts: &starts))
        #expect(pos == (0..<tf).map { UInt32(3 * $0) }, "positions after the 128th are wrong: \(Array(pos.dropFirst(126).prefix(6)))")
    }

    @Test func postingsOfOneFlushedSegment() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-postings")
        let fixture = PostingsFixture(count: 600, shuffledIds: false, rng: &rng)
        let dir = temporaryDirectory("postings")
        defer { removeDirectory(dir) }
        let layout = try SchemaLayout(PostingsFixture.schema)
        let w = SegmentWriter(layout: layout)
        var doc = IndexDocument()
        for d in fixture.docs {
            PostingsFixture.indexDocument(d, into: &doc)
            try w.add(doc)
        }
        let meta = try w.flush(directory: dir, segmentId: "seg_000001", sync: false)
        #expect(meta.idsSorted)
        let seg = try SegmentReader(directory: dir, meta: meta, textFieldCount: layout.textFields.count, verify: true)
        try verify(segment: seg, docs: fixture.docs, layout: layout, rng: &rng, context: "seed \(seed) flushed")
    }

    @Test(arguments: [false, true])
    func postingsOfSegmentsAndTheirMerge(shuffledIds: Bool) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("codec-postings-merge")
        let fixture = PostingsFixture(count: 560, shuffledIds: shuffledIds, rng: &rng)
        let dir = temporaryDirectory("postings-merge")
        defer { removeDirectory(dir) }
        let per = 150
        let w = try IndexWriter(creating: dir, schema: PostingsFixture.schema, options: .init(sync: false, maxDocsPerSegment: per))
        var doc = IndexDocument()
        for d in fixture.docs {
            PostingsFixture.indexDocument(d, into: &doc)
            try w.add(doc)
        }
        try w.commit()
        let s1 = try Searcher.open(directory: dir)
        #expect(s1.segments.count == 4)
        for (si, seg) in s1.segments.enumerated() {
            #expect(seg.meta.idsSorted == !shuffledIds)
            let slice = Array(fixture.docs[(si * per)..<min(fixture.docs.count, (si + 1) * per)])
            try verify(segment: seg, docs: slice, layout: s1.layout, rng: &rng, context: "seed \(seed) segment \(si)")
        }
        try w.forceMerge()
        let s2 = try Searcher.open(directory: dir)
        #expect(s2.segments.count == 1)
        #expect(s2.segments[0].meta.idsSorted == !shuffledIds)
        try verify(segment: s2.segments[0], docs: fixture.docs, layout: s2.layout, rng: &rng, context: "seed \(seed) merged")
        for (d, x) in fixture.docs.enumerated() { #expect(try s2.doc(forId: x.id) == d) }
    }
}
