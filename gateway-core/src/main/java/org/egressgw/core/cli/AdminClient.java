package org.egressgw.core.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.yaml.SourceException;
import picocli.CommandLine.Option;

/** Where a running gateway's admin endpoint is: {@code --admin HOST:PORT}, or the one in {@code --config FILE}. */
final class AdminClient {
    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin endpoint of the running gateway (default 127.0.0.1:9464).")
    String admin;

    @Option(names = "--config", paramLabel = "FILE", description = "Read the admin endpoint from this gateway configuration.")
    Path config;

    String base() throws SourceException {
        if (admin != null) {
            return "http://" + admin;
        }
        if (config != null) {
            GatewayConfig cfg = GatewayConfig.load(config);
            return "http://" + cfg.admin().host() + ":" + cfg.admin().port();
        }
        return "http://127.0.0.1:9464";
    }

    /** GETs a path; throws IOException naming the URL when the gateway does not answer. */
    String get(String path) throws IOException, InterruptedException, SourceException {
        return send(path, HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10)).build());
    }

    /** POSTs to a path (an action that changes the gateway's state); as {@link #get} otherwise. */
    String post(String path) throws IOException, InterruptedException, SourceException {
        return send(path, HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    private String send(String path, HttpRequest request) throws IOException, InterruptedException, SourceException {
        String url = base() + path;
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(url + " answered " + r.statusCode() + ": " + r.body().strip());
            }
            return r.body();
        } catch (java.net.ConnectException e) {
            throw new IOException("no gateway answers at " + url + " (is it running? --admin HOST:PORT)", e);
        }
    }
}
