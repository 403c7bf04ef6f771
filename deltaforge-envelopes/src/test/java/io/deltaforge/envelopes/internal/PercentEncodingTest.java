package io.deltaforge.envelopes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class PercentEncodingTest {
    @Test
    void encodesHeaderValuesAsTheNatsBindingExample() {
        assertThat(PercentEncoding.headerValue("Euro \u20AC \uD83D\uDE00")).isEqualTo("Euro%20%E2%82%AC%20%F0%9F%98%80");
        assertThat(PercentEncoding.headerValue("a\"b%c\td")).isEqualTo("a%22b%25c%09d");
    }

    @Test
    void leavesPrintableAsciiAloneWithoutCopying() {
        String plain = "com.acme.users/created:1+2=3";
        assertThat(PercentEncoding.headerValue(plain)).isSameAs(plain);
    }

    @Test
    void makesPathSegmentsThatUriAccepts() {
        String segment = PercentEncoding.pathSegment("my table/ä?#%");
        assertThat(segment).isEqualTo("my%20table%2F%C3%A4%3F%23%25");
        assertThat(URI.create("deltaforge/" + segment).getPath()).isEqualTo("deltaforge/my table/ä?#%");
        assertThat(PercentEncoding.pathSegment("users-postgres")).isEqualTo("users-postgres");
    }
}
