package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit plan without weights, and the cache options of dit generate. */
class CacheCommandsTest {
    @TempDir Path dir;

    static double field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void planReproducesThePaperWithoutWeights() {
        MainTest.Run r = run("plan", "--arch", "DiT-XL/2", "--cache", "delta-dit", "--json");
        assertEquals(0, r.status(), r.err());
        assertEquals(2.862e12, field(r.out(), "macs"), 0.002 * 2.862e12);
        assertEquals(4.579e12, field(r.out(), "macs_uncached"), 0.002 * 4.579e12);
        assertTrue(r.out().contains("\"cache\":\"delta-dit b=12 N=2 Nc=21\""), r.out());
        assertTrue(r.out().contains("{\"step\":2,\"timestep\":949,\"mode\":\"cached\",\"policy\":\"delta\",\"range\":[7,28],\"blocks\":7}"), r.out());
        MainTest.Run fd = run("plan", "--arch", "DiT-XL/2", "--cache", "faster-diffusion", "--cached-blocks", "14", "--json");
        assertEquals(3.434e12, field(fd.out(), "macs"), 0.002 * 3.434e12);
        MainTest.Run t13 = run("plan", "--arch", "DiT-XL/2", "--steps", "13", "--json");
        assertEquals(2.976e12, field(t13.out(), "macs"), 0.002 * 2.976e12);
        MainTest.Run solved = run("plan", "--arch", "DiT-XL/2", "--cache", "delta-dit", "--speedup", "1.59", "--json");
        assertTrue(solved.out().contains("Nc=21"), solved.out());
        MainTest.Run table = run("plan", "--arch", "DiT-XL/2", "--cache", "delta-cache", "--range", "deep");
        assertTrue(table.out().contains("Δ[7,28)") && table.out().contains("speedup"), table.out());
    }

    @Test
    void planOnAPixelSpaceModelUsesItsOwnFactor() {
        // the demo model works in pixels (1 channel, no VAE): 32 px is 32×32, not 4×4 latents
        MainTest.Run r = run("plan", "--model", "../models/demo", "--image-size", "32", "--cache", "delta-dit", "--json");
        assertEquals(0, r.status(), r.err());
        MainTest.Run native_ = run("plan", "--model", "../models/demo", "--cache", "delta-dit", "--json");
        assertEquals(field(native_.out(), "macs"), field(r.out(), "macs"), "32 px is the demo model's own size");
    }

    @Test
    void theSummaryChoosesItsMacUnitBySize() {
        MainTest.Run r = run("generate", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--steps", "2", "--class", "1", "--save-latent",
                dir.resolve("u.safetensors").toString());
        assertEquals(0, r.status(), r.err());
        String summary = r.err().lines().filter(l -> l.startsWith("dit: 1 image")).findFirst().orElse("");
        assertTrue(summary.matches(".*, [1-9][0-9]*\\.[0-9]+ [kMGT] MACs \\(1\\.00× fewer\\).*"), "a readable figure, not 0.000 T: " + r.err());
    }

    @Test
    void cachedGenerationReportsItsPlanHitsAndMemory() {
        String[] base = {"generate", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--steps", "4", "--class", "1,2", "--save-latent",
            dir.resolve("l.safetensors").toString(), "--json", "--cache", "delta-dit", "--cached-blocks", "1"};
        MainTest.Run r = run(base);
        assertEquals(0, r.status(), r.err());
        assertEquals(2, (int) field(r.out(), "cache_hits"), "steps 2 and 4 are cached");
        // one Δ of [rows 4 = 2 images × 2 branches, 16 tokens, 16 channels] in F32
        assertEquals(4 * 16 * 16 * 4, (int) field(r.out(), "cache_bytes"));
        assertTrue(field(r.out(), "speedup") > 1.1, r.out());
        assertTrue(r.err().contains("cache delta-dit b=2 N=2 Nc=1"), r.err());
    }

    @Test
    void aPolicyFileGivesWhatItsFlagsGive() throws Exception {
        java.nio.file.Path policy = java.nio.file.Files.writeString(dir.resolve("policy.json"),
                "{\"kind\": \"delta-dit\", \"b\": 2, \"cached_blocks\": 1, \"note\": \"as dit tune writes it\"}");
        String[] base = {"generate", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--steps", "4", "--class", "1,2", "--json", "--threads", "2"};
        MainTest.Run flags = run(concat(base, "--cache", "delta-dit", "--b", "2", "--cached-blocks", "1", "--save-latent", dir.resolve("f.safetensors").toString()));
        MainTest.Run file = run(concat(base, "--cache-config", policy.toString(), "--save-latent", dir.resolve("p.safetensors").toString()));
        assertEquals(0, file.status(), file.err());
        assertTrue(file.out().contains("\"cache\":\"delta-dit b=2 N=2 Nc=1\""), file.out());
        assertTrue(java.util.Arrays.equals(java.nio.file.Files.readAllBytes(dir.resolve("f.safetensors")), java.nio.file.Files.readAllBytes(dir.resolve("p.safetensors"))),
                "the same latents as the flags");
        assertEquals(field(flags.out(), "macs"), field(file.out(), "macs"));
        MainTest.Run row = run("bench", "compare", "--model", "../models/demo", "--count", "2", "--steps", "4", "--rows", "full", "--cache-config", policy.toString());
        assertEquals(0, row.status(), row.err());
        assertTrue(row.out().contains("| policy policy.json (delta-dit b=2 N=2 Nc=1) |"), row.out());
    }

    static String[] concat(String[] a, String... b) { return MainTest.concat(a, b); }

    @Test
    void theForecastPolicyCostsWhatDeltaCacheCostsAndChangesTheResult() {
        MainTest.Run f = run("plan", "--arch", "DiT-XL/2", "--cache", "forecast", "--range", "deep", "--json");
        MainTest.Run d = run("plan", "--arch", "DiT-XL/2", "--cache", "delta-cache", "--range", "deep", "--json");
        assertEquals(0, f.status(), f.err());
        assertEquals(field(d.out(), "macs"), field(f.out(), "macs"));
        assertTrue(f.out().contains("\"policy\":\"forecast\",\"range\":[7,28]"), f.out());
        MainTest.Run rows = run("bench", "compare", "--model", "../models/demo", "--count", "2", "--steps", "6", "--rows", "full,deep,forecast-deep", "--json");
        assertEquals(0, rows.status(), rows.err());
        String deep = rows.out().lines().filter(l -> l.contains("\"row\":\"deep\"")).findFirst().orElse("");
        String fc = rows.out().lines().filter(l -> l.contains("\"row\":\"forecast-deep\"")).findFirst().orElse("");
        assertEquals(field(deep, "macs"), field(fc, "macs"));
        assertTrue(field(deep, "psnr") != field(fc, "psnr"), "the forecast changes the images: " + rows.out());
    }

    @Test
    void badCacheOptionsAreOneLineAndStatusTwo() {
        String[][] cases = {
            {"--cache", "delta-dit", "--b", "21"}, {"--cache", "delta-dit", "--interval", "0"}, {"--cache", "delta-dit", "--cached-blocks", "29"},
            {"--cache", "delta-cache", "--range", "5:5"}, {"--cache", "skip", "--range", "20:30"}, {"--cache", "skip", "--range", "a:b"},
            {"--cache", "delta-dit", "--speedup", "40"}, {"--b", "3"}, {"--cache", "mystery"}, {"--cache", "delta-cache", "--b", "2"},
            {"--cache", "delta-dit", "--range", "shallow"}, {"--cache", "delta-dit", "--speedup", "1.5", "--interval", "2"}};
        for (String[] c : cases) {
            String[] all = new String[c.length + 3];
            all[0] = "plan";
            all[1] = "--arch";
            all[2] = "DiT-XL/2";
            System.arraycopy(c, 0, all, 3, c.length);
            MainTest.Run r = run(all);
            assertEquals(2, r.status(), String.join(" ", c) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), String.join(" ", c) + ": " + r.err());
            assertFalse(r.err().contains("Exception"), r.err());
        }
        MainTest.Run best = run("plan", "--arch", "DiT-XL/2", "--cache", "delta-dit", "--speedup", "40");
        assertTrue(best.err().contains("best reachable"), best.err());
    }
}
