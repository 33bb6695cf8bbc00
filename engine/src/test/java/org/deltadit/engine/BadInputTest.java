package org.deltadit.engine;

import static org.deltadit.engine.TensorTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Shape errors are caught before any kernel runs, with a message naming the op and both shapes. */
class BadInputTest {
    static Backend[] backends() { return new Backend[] {new ReferenceBackend(), new CpuBackend(2)}; }

    @ParameterizedTest
    @MethodSource("backends")
    void shapeMismatches(Backend be) {
        Tensor x = Tensor.zeros(2, 5, 7);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.linear(x, Tensor.zeros(4, 6), null)), "linear", "[2, 5, 7]", "[4, 6]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.linear(x, Tensor.zeros(4, 7), Tensor.zeros(5))), "linear", "[5]", "[4, 7]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.matmul(x, Tensor.zeros(6, 3))), "matmul", "[2, 5, 7]", "[6, 3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.matmul(x, Tensor.zeros(3, 7, 3))), "matmul", "[3, 7, 3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.matmul(x, Tensor.zeros(7, 3), Tensor.zeros(2, 5, 4))), "matmul", "[2, 5, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.add(x, Tensor.zeros(5, 6))), "add", "[2, 5, 7]", "[5, 6]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.layerNorm(x, Tensor.zeros(6), null, 1e-6f)), "layerNorm", "[6]", "[2, 5, 7]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.groupNorm(Tensor.zeros(1, 6, 4), 4, null, null, 1e-6f)), "groupNorm", "[1, 6, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.conv2d(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 2, 3, 3), null, 1, 1)),
                "conv2d", "[1, 3, 8, 8]", "[4, 2, 3, 3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.conv2d(Tensor.zeros(1, 3, 2, 2), Tensor.zeros(4, 3, 5, 5), null, 1, 0)),
                "conv2d", "[4, 3, 5, 5]");
        Tensor q = Tensor.zeros(1, 2, 4, 8);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.attention(q, Tensor.zeros(1, 2, 5, 6), Tensor.zeros(1, 2, 5, 8), null, 1f)),
                "attention", "[1, 2, 4, 8]", "[1, 2, 5, 6]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.attention(q, q, q, Tensor.zeros(3, 4), 1f)),
                "attention", "mask [3, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.attention(q, q, q, null, 1f, Tensor.zeros(1, 2, 4, 7))),
                "attention", "output [1, 2, 4, 7]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> be.upsampleNearest(x, 2)), "upsampleNearest", "[2, 5, 7]");
    }
}
