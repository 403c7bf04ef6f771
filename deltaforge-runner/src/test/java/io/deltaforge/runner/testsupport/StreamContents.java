package io.deltaforge.runner.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamInfo;
import java.util.ArrayList;
import java.util.List;

/** Every message of a stream, in stream order, each checked by the CloudEvents SDK's own JSON reader. */
public final class StreamContents {
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Entry(long seq, String subject, String msgId, CloudEvent event, JsonNode json) {
        public JsonNode data() {
            return json.get("data");
        }
    }

    private StreamContents() {
    }

    public static List<Entry> read(Connection nc, String stream) throws Exception {
        JetStreamManagement jsm = nc.jetStreamManagement();
        StreamInfo info = jsm.getStreamInfo(stream);
        long first = info.getStreamState().getFirstSequence();
        long last = info.getStreamState().getLastSequence();
        var format = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
        List<Entry> out = new ArrayList<>();
        for (long seq = first; seq <= last && info.getStreamState().getMsgCount() > 0; seq++) {
            MessageInfo m = jsm.getMessage(stream, seq);
            String msgId = m.getHeaders() == null ? null : m.getHeaders().getFirst("Nats-Msg-Id");
            CloudEvent ce = format.deserialize(m.getData());
            out.add(new Entry(seq, m.getSubject(), msgId, ce, JSON.readTree(m.getData())));
        }
        return out;
    }
}
