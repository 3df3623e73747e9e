import XCTest

@testable import Pipeline

/// The queue between a decoder thread and the detector: what leaves it, popped or
/// dropped, is freed at once (a frame holds a picture and a decoder buffer; a live
/// stream drops many).
final class BoundedQueueTests: XCTestCase {
    private final class Item: Sendable {
        let number: Int
        init(_ number: Int) { self.number = number }
    }

    func testDroppedAndPoppedItemsAreFreedAtOnce() throws {
        let queue = BoundedQueue<Item>(capacity: 2)
        var gone: [() -> Item?] = []
        for k in 0..<10 {
            let item = Item(k)
            gone.append { [weak item] in item }
            XCTAssertEqual(queue.pushDroppingOldest(item), k < 2 ? 0 : 1)
        }
        XCTAssertEqual(queue.count, 2)
        for k in 0..<8 { XCTAssertNil(gone[k](), "item \(k), dropped, is freed") }
        XCTAssertEqual(try queue.pop()?.number, 8, "the newest two are kept, oldest first")
        XCTAssertNil(gone[8](), "a popped item belongs to the consumer alone")
        queue.close()
        XCTAssertEqual(try queue.pop()?.number, 9)
        XCTAssertNil(try queue.pop())
        XCTAssertNil(gone[9]())
    }
}
