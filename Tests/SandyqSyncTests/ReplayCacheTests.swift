import Foundation
import Testing
@testable import SandyqSync

/// The replay cache under a network-key holder's flood of fresh message 1s: its cost per
/// message must not grow with what it holds, its memory is bounded, and no key is ever
/// answered twice while its clock is fresh.
@Suite struct ReplayCacheTests {
    func key(_ i: Int) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: 32)
        for j in 0..<8 { k[j] = UInt8((i >> (8 * j)) & 0xff) }
        k[31] = 0x5a
        return k
    }

    @Test func costPerMessageDoesNotGrowWithSize() {
        // Through the API the server has always had (`insert`, clock = now). Until the cache
        // was bucketed, every insert past 10,000 entries rescanned them all.
        let cache = ReplayCache()
        func timed(_ range: Range<Int>) -> Double {
            let start = ProcessInfo.processInfo.systemUptime
            for i in range { _ = cache.insert(key(i)) }
            return ProcessInfo.processInfo.systemUptime - start
        }
        let first = timed(0..<10_000)
        _ = timed(10_000..<30_000)
        let last = timed(30_000..<40_000)
        #expect(last < first * 5 + 0.2, "10,000 inserts took \(first) s into an empty cache and \(last) s into one of 30,000")
        #expect(cache.count == 40_000)
    }

    @Test func memoryIsBoundedAndNoKeyIsAnsweredTwice() {
        let cache = ReplayCache(capacity: 1000)
        let now: UInt64 = 1_800_000_000_000
        // 5,000 fresh keys with clocks across the whole ±10 min window.
        var times: [UInt64] = []
        for i in 0..<5000 {
            let t = now - Handshake.maxSkewMillis + UInt64(i) * (2 * Handshake.maxSkewMillis / 5000)
            times.append(t)
            #expect(cache.check(key(i), time: t, now: now) != .replayed, "key \(i) was new")
            #expect(cache.count <= 1000)
        }
        // Every one of them, sent again with its own clock, is refused: replayed, or its clock
        // range was dropped and is refused whole.
        var answered = 0
        for i in 0..<5000 where cache.check(key(i), time: times[i], now: now) == .fresh { answered += 1 }
        #expect(answered == 0, "\(answered) recorded message 1s would be answered a second time")
        #expect(cache.bucketCount <= 121)
    }

    @Test func staleBucketsGoWholeAndTheSameKeyWithANewClockIsRefused() {
        let cache = ReplayCache()
        let now: UInt64 = 1_800_000_000_000
        for i in 0..<3000 { #expect(cache.check(key(i), time: now - UInt64(i), now: now) == .fresh) }
        // The same ephemeral key with another clock (only a network-key holder can make one).
        #expect(cache.check(key(7), time: now + 5_000, now: now) == .replayed)
        // 21 minutes on, every clock seen is stale: the buckets are dropped, not scanned entry by entry.
        let later = now + 21 * 60 * 1000
        #expect(cache.check(key(999_999), time: later, now: later) == .fresh)
        #expect(cache.count == 1)
        #expect(cache.bucketCount == 1)
    }

    @Test func aClockSteppedBackDoesNotTrap() {
        let cache = ReplayCache(capacity: 10)
        let now: UInt64 = 1_800_000_000_000
        for i in 0..<50 { _ = cache.check(key(i), time: now, now: now) }
        for i in 50..<100 { _ = cache.check(key(i), time: 5_000, now: 5_000) }
        for i in 100..<150 { _ = cache.check(key(i), time: 0, now: 0) }
        #expect(cache.count <= 10)
    }
}
