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
        return body(path, exchange(path, null));
    }

    /** GETs a path the gateway may not serve (404: empty), as {@link #get} otherwise. */
    java.util.Optional<String> getIfServed(String path) throws IOException, InterruptedException, SourceException {
        HttpResponse<String> r = exchange(path, null);
        return r.statusCode() == 404 ? java.util.Optional.empty() : java.util.Optional.of(body(path, r));
    }

    /** POSTs to a path (an action that changes the gateway's state); as {@link #get} otherwise. */
    String post(String path) throws IOException, InterruptedException, SourceException {
        return body(path, exchange(path, HttpRequest.BodyPublishers.noBody()));
    }

    /** @param post the body to POST, or null to GET */
    private HttpResponse<String> exchange(String path, HttpRequest.BodyPublisher post)
            throws IOException, InterruptedException, SourceException {
        String url = base() + path;
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (post != null) {
            request.POST(post);
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            throw new IOException("no gateway answers at " + url + " (is it running? --admin HOST:PORT)", e);
        }
    }

    private String body(String path, HttpResponse<String> r) throws IOException, SourceException {
        if (r.statusCode() != 200) {
            throw new IOException(base() + path + " answered " + r.statusCode() + ": " + r.body().strip());
        }
        return r.body();
    }
}
