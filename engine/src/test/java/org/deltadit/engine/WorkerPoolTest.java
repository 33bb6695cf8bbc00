package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deltadit.engine.cpu.WorkerPool;
import org.junit.jupiter.api.Test;

/** Failures inside pool tasks reach the caller as they were thrown. */
class WorkerPoolTest {
    @Test
    void anErrorInAnyTaskIsRethrownUnwrapped() {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int bad : new int[] {0, 37, 99}) { // on the calling thread or on a helper
                OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> pool.run(100, i -> {
                    if (i == bad) throw new OutOfMemoryError("kernel " + i);
                }));
                assertEquals("kernel " + bad, e.getMessage());
            }
            IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> pool.run(100, i -> {
                if (i == 50) throw new IllegalArgumentException("bad shape");
            }));
            assertEquals("bad shape", iae.getMessage());
        }
    }
}
