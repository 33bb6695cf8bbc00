package org.deltadit.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.weights.Json;

/** Whether a diffusers repository ships an LCM scheduler (PixArt-LCM: same transformer, 4 steps, no guidance). */
final class LcmRepository {
    private LcmRepository() {}

    static boolean is(Path model) {
        Path cfg = model.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(cfg)) return false;
        return "LCMScheduler".equals(Json.readObject(cfg).get("_class_name"));
    }
}
