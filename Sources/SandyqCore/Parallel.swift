import Dispatch

/// Pure work spread over the machine's cores. Core still does no I/O: this only runs
/// independent computations (opening sealed boxes, decrypting bodies) side by side.
public enum Parallel {
    /// `transform(i)` for every i in 0..<count, in order, computed on all cores.
    public static func map<T>(_ count: Int, minimum: Int = 512, _ transform: (Int) -> T) -> [T] {
        guard count >= minimum else { return (0..<count).map(transform) }
        return withoutActuallyEscaping(transform) { f in
            let work = Unchecked(f)
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                let base = Unchecked(buffer.baseAddress!)
                // More slices than cores, so a slice that runs slow does not leave a core idle.
                let slices = 32
                DispatchQueue.concurrentPerform(iterations: slices) { s in
                    for i in (count * s / slices)..<(count * (s + 1) / slices) {
                        (base.value + i).initialize(to: work.value(i))
                    }
                }
                initialized = count
            }
        }
    }
}

private struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
