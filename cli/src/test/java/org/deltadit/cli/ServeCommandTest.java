package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** dit serve's per-model flags: a bare DiT .pt served with its VAE, the rest as the other commands take them. */
class ServeCommandTest {
    @TempDir Path dir;

    private static Map<String, ModelSpec> specs(String... args) {
        CommandLine cl = new CommandLine(new ServeCommand());
        cl.parseArgs(args);
        return ((ServeCommand) cl.getCommand()).specs();
    }

    @Test
    void eachServedModelGetsTheFlagsNamedForItOrGivenToAll() throws IOException {
        Path vae = PixArtGenerateTest.tinyRepository(dir).resolve("vae");
        String pt = MainTest.FIX + "tiny_dit.pt";
        Map<String, ModelSpec> s = specs("--model", "xl=" + pt, "--model", "demo=../models/demo", "--vae", "xl=" + vae, "--heads", "xl=2",
                "--image-size", "16", "--threads", "2");
        assertEquals(vae, s.get("xl").vae());
        assertEquals(2, s.get("xl").heads());
        assertNull(s.get("demo").vae());
        assertNull(s.get("demo").heads());
        assertEquals(16, s.get("xl").imageSize(), "without NAME= a flag applies to every model");
        assertEquals(16, s.get("demo").imageSize());
        assertEquals(2, s.get("demo").threads());
        // the bare .pt decodes with its VAE and cannot without it: what the server's image requests need
        Map<String, ModelSpec> bare = specs("--model", "xl=" + pt, "--heads", "2", "--threads", "2");
        try (Pipeline with = Pipeline.open(s.get("xl")); Pipeline without = Pipeline.open(bare.get("xl"))) {
            assertTrue(with.canDecode() && !without.canDecode());
            var r = with.generate(GenerationRequest.builder().classes(java.util.List.of(1)).steps(2).build(), null);
            assertEquals(16, r.images().get(0).width());
        }
    }

    @Test
    void badPerModelFlagsAreOneLineWithStatusTwo() {
        String pt = MainTest.FIX + "tiny_dit.pt";
        Map<String, String> cases = Map.of(
                "dit: --vae: no model named 'x2' is served (xl)", "--vae=x2=/tmp",
                "dit: --vae: /no/such/vae: no such file or folder", "--vae=xl=/no/such/vae",
                "dit: --heads: two (a whole number)", "--heads=two",
                "dit: --heads: 0 (must be at least 1)", "--heads=xl=0",
                "dit: --image-size: 4 (at least 8)", "--image-size=xl=4");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            MainTest.Run r = MainTest.run("serve", "--model", "xl=" + pt, c.getValue(), "--port", "0");
            assertEquals(2, r.status(), c.getValue());
            assertEquals(c.getKey(), r.err().strip(), c.getValue());
        }
    }
}
