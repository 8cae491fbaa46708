package io.nflb.lab;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A test client: GETs one URL and prints the status line's code, then the body. Run inside a namespace. */
public final class HttpGet {

    private HttpGet() {
    }

    public static void main(String[] args) throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                .send(HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
        System.out.println(r.statusCode());
        System.out.print(r.body());
    }
}
