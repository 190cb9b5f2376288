// The page's pollers (request and reply formats: dashboard/polling.py).
//
// Dash drops a callback still in flight when it is requested again, so polls are not Dash callbacks:
// interval ticks drive a poller that posts to the app's poll routes itself, one request at a time. A
// request in flight too long is abandoned and sent again; a failed one is retried after a growing
// delay while the page says the app is not reachable. Each reply names its request and the offsets of
// the text it holds, so it is applied once and in order; the page is updated with set_props.
(function () {
    'use strict';

    const clientside = window.dash_clientside = window.dash_clientside || {};

    // ------------------------------------------------------------------ pure logic (tested in the browser)
    function timeoutFor(poller, config) {
        return Math.max(config.timeout_ms, 4 * (poller.rtt || 0));
    }

    function retryDelay(failures, config) {
        return failures > 0 ? Math.min(config.max_retry_ms, config.retry_ms * Math.pow(2, failures - 1)) : 0;
    }

    // What a poller does on a tick: 'send', 'wait' (a request is in flight, or a retry is not due yet),
    // or 'abandon' (the request in flight has taken too long: count it failed, send it again later).
    function tickAction(poller, now, config) {
        if (poller.inFlight) {
            return now - poller.inFlight.at >= timeoutFor(poller, config) ? 'abandon' : 'wait';
        }
        return now >= poller.retryAt ? 'send' : 'wait';
    }

    function isUnreachable(poller, now, config) {
        return poller.failures >= 2
            || Boolean(poller.inFlight && now - poller.inFlight.at >= config.unreachable_ms);
    }

    function recordFailure(poller, now, config) {
        poller.inFlight = null;
        poller.failures += 1;
        poller.retryAt = now + retryDelay(poller.failures, config);
    }

    function recordSuccess(poller, now) {
        poller.rtt = now - poller.inFlight.at;
        poller.inFlight = null;
        poller.failures = 0;
        poller.retryAt = 0;
    }

    // The text shown after a reply: extended when the reply starts where the page is, replaced by a
    // whole answer (a reply from offset 0), left alone otherwise (a late or repeated reply).
    function applyText(text, offset, reply) {
        if (reply.from === offset) {
            return {text: text + reply.text, offset: reply.to};
        }
        if (reply.from === 0) {
            return {text: reply.text, offset: reply.to};
        }
        return {text: text, offset: offset};
    }

    // When the answer last grew, and whether the page says the model is silent.
    function stallStep(state, reply, now, config) {
        const next = {activity: state.activity, changed_at: state.changed_at, stalled: Boolean(state.stalled)};
        if (typeof reply.activity !== 'number') {
            return next;
        }
        if (reply.waiting) {  // waiting for the file being loaded: the model has not been asked yet
            next.changed_at = now;
            next.stalled = false;
            return next;
        }
        if (reply.activity !== state.activity) {
            next.activity = reply.activity;
            next.changed_at = now;
            next.stalled = false;
        } else if (!reply.done && now - state.changed_at >= config.stall_ms) {
            next.stalled = true;
        }
        return next;
    }

    // The longest hold to ask of the app: until the silent-model notice falls due, if that is sooner.
    function holdFor(state, now, config) {
        if (state.stalled || typeof state.changed_at !== 'number') {
            return config.hold_ms;
        }
        const due = state.changed_at + config.stall_ms - now;
        return Math.max(0, Math.min(config.hold_ms, Math.ceil(due)));
    }

    // ------------------------------------------------------------------ talking to the app and the page
    function newPoller(key) {
        return {key: key, seq: 0, inFlight: null, failures: 0, retryAt: 0, rtt: 0, unreachable: false};
    }

    // Give up the request in flight: its reply, should it still come, is ignored.
    function abandon(poller) {
        if (poller && poller.inFlight) {
            if (poller.inFlight.controller) {
                poller.inFlight.controller.abort();
            }
            poller.inFlight = null;
        }
    }

    function routeUrl(path) {
        let prefix = '/';
        try {
            prefix = JSON.parse(document.getElementById('_dash-config').textContent).requests_pathname_prefix || '/';
        } catch (error) { /* no config: the app is served at the root */ }
        return prefix + path;
    }

    function onPage(id) {
        const api = window.dash_component_api;
        try {
            return Boolean(api && api.getLayout && api.getLayout(id));
        } catch (error) {
            return false;
        }
    }

    function setProps(id, props) {
        if (onPage(id)) {
            window.dash_clientside.set_props(id, props);
        }
    }

    const unreachableBy = {};

    function showReachability(name, poller, now, config) {
        const unreachable = isUnreachable(poller, now, config);
        if (unreachableBy[name] === unreachable) {
            return;
        }
        unreachableBy[name] = unreachable;
        const any = Object.keys(unreachableBy).some(function (key) { return unreachableBy[key]; });
        setProps(config.ids.connection_notice, {children: any ? config.unreachable_text : ''});
    }

    function post(name, poller, config, url, body, onReply) {
        const now = Date.now();
        const seq = poller.seq + 1;
        const controller = typeof AbortController === 'function' ? new AbortController() : null;
        poller.seq = seq;
        poller.inFlight = {seq: seq, at: now, controller: controller};
        const current = function () {
            return poller.inFlight !== null && poller.inFlight.seq === seq;
        };
        window.fetch(routeUrl(url), {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            credentials: 'same-origin',
            body: JSON.stringify(Object.assign({seq: seq}, body)),
            signal: controller ? controller.signal : undefined,
        }).then(function (response) {
            return response.ok ? response.json() : Promise.reject(new Error('HTTP ' + response.status));
        }).then(function (reply) {
            if (!current()) {
                return;  // abandoned: a newer request asks again
            }
            recordSuccess(poller, Date.now());
            showReachability(name, poller, Date.now(), config);
            onReply(reply);
        }, function () {
            if (current()) {
                recordFailure(poller, Date.now(), config);
                showReachability(name, poller, Date.now(), config);
            }
        });
    }

    function tick(name, poller, config, url, body, onReply) {
        const now = Date.now();
        const action = tickAction(poller, now, config);
        if (action === 'abandon') {
            abandon(poller);
            recordFailure(poller, now, config);
        } else if (action === 'send') {
            post(name, poller, config, url, body(), onReply);
        }
        showReachability(name, poller, now, config);
    }

    // ------------------------------------------------------------------ the streaming answer
    const pollers = {answer: null, ingest: null};
    const MOUNT_CHECK_MS = 10;  // how often a reply that came before its turn was drawn looks for it

    function answerPart(config, session, part) {
        return {type: config.part_type, turn: session, part: part};
    }

    function startAnswer(progress, config) {
        abandon(pollers.answer);
        const poller = newPoller(progress.session);
        poller.startedAt = Date.now();
        poller.answer = {
            session: progress.session,
            turn: progress.turn,
            offset: progress.offset || 0,
            text: progress.text || '',
            view: progress.view || {},
            content: Boolean(progress.content),
            acked: 0,
            done: false,
            savedAt: 0,
            unsaved: false,
            interval: config.fast_ms,  // what the controls set when an answer starts
        };
        pollers.answer = poller;
        return poller;
    }

    function saveTurn(config, answer, fields) {
        const store = config.ids.store;
        const api = window.dash_component_api;
        let turns = null;
        try {
            turns = api.getLayout(store).props.data;
        } catch (error) {
            return;
        }
        const stored = Array.isArray(turns) ? turns[answer.turn] : null;
        if (!stored || stored.id !== answer.session) {
            return;  // the conversation was cleared meanwhile
        }
        const patch = new window.dash_clientside.Patch();
        Object.keys(fields).forEach(function (key) {
            patch.assign([answer.turn, key], fields[key]);
        });
        window.dash_clientside.set_props(store, {data: patch.build()});
    }

    // Apply a reply: the text at once, everything else (parts, notices, the stored turn, the controls)
    // just after, so the new text is drawn first. The poller's own state is updated right away.
    function applyAnswer(poller, reply, config) {
        const answer = poller.answer;
        const now = Date.now();
        if (answer.done || reply.session !== answer.session || reply.seq <= answer.acked) {
            return;  // late or repeated
        }
        if (!onPage(answerPart(config, answer.session, 'text'))) {
            if (turnComing(answer, config) && now - poller.startedAt < config.mount_ms) {
                answer.pending = reply;  // polled from the Send response: Dash is still drawing the turn
                window.setTimeout(function () { applyPending(poller, config); }, MOUNT_CHECK_MS);
                return;
            }
            answer.done = true;  // the conversation was cleared meanwhile (or the turn never came: the next
            if (pollers.answer === poller) {  // tick starts again from what the page holds)
                pollers.answer = null;
            }
            return;
        }
        const later = [];
        answer.pending = null;
        answer.acked = reply.seq;
        if (typeof reply.version === 'number') {
            answer.version = reply.version;
        }
        if (answer.started_at === undefined) {
            answer.started_at = now;
        }
        const shown = applyText(answer.text, answer.offset, reply);
        const textChanged = shown.text !== answer.text;
        answer.text = shown.text;
        answer.offset = shown.offset;
        if (textChanged) {
            setProps(answerPart(config, answer.session, 'text'), {children: answer.text});
            answer.unsaved = true;
        }
        const parts = reply.parts || {};
        Object.keys(parts).forEach(function (name) {
            later.push(function () { setProps(answerPart(config, answer.session, name), parts[name]); });
        });
        if (reply.view) {
            answer.view = reply.view;
        }
        if (reply.content) {
            answer.content = true;
        }
        const stall = stallStep(answer, reply, now, config);
        if (stall.stalled !== Boolean(answer.stalled) && !parts.notice) {
            const notice = stall.stalled ? {children: config.stall_text, hidden: false} : {children: '', hidden: true};
            later.push(function () { setProps(answerPart(config, answer.session, 'notice'), notice); });
        }
        Object.assign(answer, stall);

        const fields = Object.assign({}, reply.fields || {});
        if (answer.unsaved && (reply.done || now - answer.savedAt >= config.save_ms)) {
            fields.answer = answer.text;
            answer.unsaved = false;
        }
        if (Object.keys(fields).length) {
            answer.savedAt = now;
            later.push(function () { saveTurn(config, answer, fields); });
        }
        if (reply.done) {
            answer.done = true;
            later.push(function () {
                window.dash_clientside.set_props(config.ids.active, {data: false});
                showStreaming(false, config);
                window.dash_clientside.set_props(config.ids.chat_notice, {children: ''});
                if (reply.resend) {  // the question was not answered (its file failed to load): back in the box
                    window.dash_clientside.set_props(config.ids.chat_input, {value: reply.resend});
                }
            });
        } else {
            const fast = !answer.content && now - answer.started_at < config.fast_for_ms;
            if (fast && typeof reply.version === 'number') {  // nothing to show yet: ask again at once (the app
                                                               // holds a request naming a version until news)
                later.unshift(function () {
                    if (pollers.answer === poller && !answer.done) {
                        pollAnswer(poller, config);
                    }
                });
            }
            const interval = fast ? config.fast_ms : config.slow_ms;
            if (answer.interval !== interval) {
                answer.interval = interval;
                later.push(function () {
                    window.dash_clientside.set_props(config.ids.interval, {interval: interval});
                });
            }
        }
        if (later.length) {
            window.setTimeout(function () { later.forEach(function (effect) { effect(); }); }, 0);
        }
    }

    // Interval tick: poll the answer (a new answer is polled at once by onCallbackResponse).
    function answerTick(_ticks, progress, active, config) {
        if (!config || !progress || !progress.session || !active) {
            return;
        }
        let poller = pollers.answer;
        if (!poller || poller.key !== progress.session) {
            poller = startAnswer(progress, config);
        }
        if (!poller.answer.done) {
            pollAnswer(poller, config);
        }
    }

    // Poll the answer now, unless a request for it is in flight (or waits to be retried).
    function pollAnswer(poller, config) {
        const answer = poller.answer;
        if (answer.pending) {
            return;  // a reply waits for its turn to be drawn
        }
        tick('answer', poller, config, config.answer_url, function () {
            // with the version last seen, the app holds the request until the answer changes
            return {session: answer.session, offset: answer.offset, view: answer.view, version: answer.version,
                    hold_ms: holdFor(answer, Date.now(), config)};
        }, function (reply) {
            applyAnswer(poller, reply, config);
        });
    }

    // Whether the answer's turn is still to be drawn: the response that starts it is not applied yet, or the
    // turn is kept but not on the page yet.
    function turnComing(answer, config) {
        if (currentData(config.ids.session) !== answer.session) {
            return true;
        }
        const turns = currentData(config.ids.store);
        return Array.isArray(turns) && Boolean(turns[answer.turn]) && turns[answer.turn].id === answer.session;
    }

    function applyPending(poller, config) {
        const reply = poller.answer.pending;
        if (reply && pollers.answer === poller) {
            poller.answer.pending = null;
            applyAnswer(poller, reply, config);
        }
    }

    // A callback response that starts or ends streaming (Send, Clear, a reload resuming an answer), seen by the
    // renderer's request_post hook before Dash applies it: the controls are set, and a new answer is polled at
    // once, while Dash still draws its turn (a clientside callback on the new session would come a whole update
    // later, and each callback run costs the page time for every component on it).
    function onCallbackResponse(response, ids) {
        const progress = response && response[ids.progress] && response[ids.progress].data;
        const active = response && response[ids.active] ? response[ids.active].data : undefined;
        const config = currentData(ids.config);
        if (!config || typeof active !== 'boolean') {
            return;
        }
        showStreaming(active, config);
        if (!active || !progress || !progress.session) {
            return;
        }
        if (!pollers.answer || pollers.answer.key !== progress.session) {
            pollAnswer(startAnswer(progress, config), config);
        }
    }

    // The controls follow whether an answer streams: Send off, Stop on, the interval ticking (fast at first).
    function showStreaming(active, config) {
        const set = window.dash_clientside.set_props;
        set(config.ids.send, {disabled: active});
        set(config.ids.stop, {disabled: !active});
        set(config.ids.interval, active ? {disabled: false, interval: config.fast_ms} : {disabled: true});
    }

    // ------------------------------------------------------------------ loading a dataset
    function applyIngest(poller, reply, config) {
        if (poller.finished || reply.job !== poller.key) {
            return;
        }
        const set = window.dash_clientside.set_props;
        set(config.ids.ingest_progress, {children: reply.progress, hidden: reply.hidden});
        if (!reply.finished) {
            if (reply.stored_data && !poller.published) {  // the new data answers questions while it is indexed
                poller.published = reply.stored_data.dataset_id;
                poller.before = currentData(config.ids.stored_data);
                set(config.ids.stored_data, {data: reply.stored_data});
            }
            return;
        }
        poller.finished = true;
        set(config.ids.ingest_interval, {disabled: true});
        set(config.ids.data_message, {children: reply.message});
        if (reply.stored_data && reply.stored_data.dataset_id !== poller.published) {
            set(config.ids.stored_data, {data: reply.stored_data});
        } else if (!reply.stored_data && poller.published) {  // failed or cancelled: back to the data before
            set(config.ids.stored_data, {data: poller.before});
        }
    }

    // The data prop of a store as the page holds it now (null when unknown).
    function currentData(id) {
        const api = window.dash_component_api;
        try {
            const layout = api && api.getLayout && api.getLayout(id);
            return layout && layout.props && layout.props.data !== undefined ? layout.props.data : null;
        } catch (error) {
            return null;
        }
    }

    // Interval tick, or a new loading job: poll its progress (at once for a new one).
    function ingestTick(_ticks, job, config) {
        if (!config || !job) {
            return;
        }
        let poller = pollers.ingest;
        if (!poller || poller.key !== job) {
            abandon(poller);
            poller = pollers.ingest = newPoller(job);
        }
        if (poller.finished) {
            return;
        }
        tick('ingest', poller, config, config.ingest_url, function () {
            return {job: job};
        }, function (reply) {
            applyIngest(poller, reply, config);
        });
    }

    clientside.polling = {
        answerTick: answerTick,
        onCallbackResponse: onCallbackResponse,
        ingestTick: ingestTick,
        logic: {
            timeoutFor: timeoutFor,
            retryDelay: retryDelay,
            tickAction: tickAction,
            isUnreachable: isUnreachable,
            recordFailure: recordFailure,
            recordSuccess: recordSuccess,
            applyText: applyText,
            stallStep: stallStep,
            holdFor: holdFor,
            newPoller: newPoller,
        },
    };
})();
