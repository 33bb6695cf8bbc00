package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** The demo model that ships with the project (models/demo: an MNIST DiT, see models/README.md). */
final class DemoModel {
    private DemoModel() {}

    /** models/demo under the project root (-Ddit.home, set by the ./dit launcher), else under the working folder. */
    static Path path() {
        String home = System.getProperty("dit.home");
        Path p = (home == null ? Path.of(".") : Path.of(home)).resolve("models").resolve("demo");
        if (!Files.exists(p.resolve("dit.safetensors"))) {
            throw new IllegalArgumentException("no --model given and the demo model is not in " + p.normalize()
                    + " (train it with tools/train_demo.py, see models/README.md); or use --random-weights --arch DiT-XL/2");
        }
        return p;
    }
}
