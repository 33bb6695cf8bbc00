package org.deltadit.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The page in a real browser: Debian's headless Chromium loads it from the server, runs the default
 * two-policy comparison (full compute and Δ-DiT) on the demo model through the API, and we read the
 * DOM it ends with and take a screenshot (serve/target/serve-page.png). CI installs Chromium; without
 * it (and outside CI) the test says so and is skipped.
 */
class BrowserTest {
    static Path chromium() {
        for (String c : new String[] {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) if (Files.isExecutable(Path.of(c))) return Path.of(c);
        return null;
    }

    static String run(Path chromium, String url, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--virtual-time-budget=120000", "--window-size=1200,1000"));
        cmd.addAll(List.of(extra));
        cmd.add(url);
        Path out = Files.createTempFile("chromium", ".out");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish");
        }
        String s = Files.readString(out);
        Files.delete(out);
        return s;
    }

    @Test
    void theComparisonPageRendersBothRunsWithTheirFigures() throws Exception {
        Path chromium = chromium();
        if (chromium == null) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("CI must install chromium (.ci/run does)");
            System.err.println("BrowserTest: no chromium on this machine (apt-get install chromium): skipped");
            Assumptions.abort("no chromium");
        }
        try (Server server = new Server(new ServeOptions("127.0.0.1", 0, Map.of("demo", ServerTest.demo()), 2, 8, 4, 100, 600))) {
            String url = "http://127.0.0.1:" + server.start() + "/?autorun=1";
            String dom = run(chromium, url, "--dump-dom");
            assertTrue(dom.contains("data-done=\"true\""), "the comparison finished: " + dom);
            Matcher img = Pattern.compile("<img alt=\"\" src=\"(/api/jobs/[0-9a-f]+/images/0\\.png)\">").matcher(dom);
            int images = 0;
            while (img.find()) images++;
            assertEquals(2, images, "two images: " + dom);
            assertTrue(dom.contains("<h2>full compute</h2>") && dom.contains("<h2>Δ-DiT</h2>"), dom);
            assertTrue(dom.contains("<td>speedup</td><td>1.00×</td>") && dom.contains("<td>speedup</td><td>1.60×</td>"), "speedups: " + dom);
            assertTrue(dom.contains("<td>PSNR</td><td>reference</td>") && Pattern.compile("<td>PSNR</td><td>[0-9.]+ dB</td>").matcher(dom).find(), "PSNR: " + dom);
            assertTrue(dom.contains("class=\"plan\""), "the plan grid: " + dom);
            assertEquals("", dom.replaceAll("(?s).*<div class=\"error\">([^<]*)</div>.*", "$1").strip(), "no error shown");
            Path shot = Path.of("target", "serve-page.png").toAbsolutePath();
            Files.deleteIfExists(shot);
            run(chromium, url, "--screenshot=" + shot);
            assertTrue(Files.size(shot) > 10_000, "a screenshot of the page");
        }
    }
}
