// The page's pollers (request and reply formats: dashboard/polling.py).
//
// Dash drops a callback still in flight when it is requested again, so polls are not Dash callbacks:
// interval ticks drive a poller that posts to the app's poll routes itself, one request at a time. A
// request in flight too long is abandoned and sent again; a failed one is retried after a growing
// delay while the page says the app is not reachable. Each reply names its request and the offsets of
// the text it holds, so it is applied once and in order; the page is updated with set_props.
//
// Every decision is a pure function of plain data (`logic`, tested in Node: tests/js/polling.test.mjs): it takes
// a poll's state and what arrived and returns the next state and the effects to apply, as data. Only the adapter
// below them touches the page (runEffects, post); the page's whole poll state is one object (newState). Effects,
// applied in order:
//   {kind: 'setProps', id, props, ifOnPage}    set_props (ifOnPage: only when the component is on the page)
//   {kind: 'saveTurn', turn, session, fields}  fields assigned into the stored turn (unless it was cleared)
//   {kind: 'defer', ms, effects}               the effects after ms (0: once what came before is drawn)
//   {kind: 'pollAgain'}                        the answer polled at once, if still polled and not done
//   {kind: 'applyPending'}                     the reply kept while the answer's turn was drawn, applied
//   {kind: 'drop'}                             the answer no longer polled (the next tick starts from the page)
//   {kind: 'ifCurrent', effects}               the effects, if the answer is still the page's current one
//   {kind: 'sendKept'}                         the question kept while this answer streamed, sent (keptStep)
//
// The page learns that an answer ended at its next poll, so for a moment it can still say an answer streams that
// has ended. The app decides whether a question can be sent from its own record of the answer (callbacks.py's
// `send`): a question sent in that moment starts at once, and the answer the page still polled is polled on to
// its end (`finishing`), its end no longer touching the controls, which are the new answer's (`ifCurrent`). A
// question the app refuses because the answer really streams stays in the box and is kept: it is sent the moment
// that answer ends (keptStep), so no Enter is lost.
(function () {
    'use strict';

    // The keys of an answer poll's reply (dashboard/polling.py's stream_update) and request (its StreamRequest),
    // and of the progress that starts an answer (new_progress): tests/test_poll_contract.py checks that the app
    // sends exactly the keys read here (`reply.<key>`, `progress.<key>`).
    const REPLY_KEYS = ['seq', 'session', 'from', 'to', 'text', 'activity', 'content', 'waiting', 'view', 'parts',
                        'fields', 'done', 'version', 'resend'];
    const REQUEST_KEYS = ['seq', 'session', 'offset', 'view', 'version', 'hold_ms'];
    const PROGRESS_KEYS = ['turn', 'session', 'offset', 'text', 'view', 'content'];
    const TEXT_PART = 'text';  // the parts of an answer the page draws itself (the app names the others)
    const NOTICE_PART = 'notice';
    const MOUNT_CHECK_MS = 10;  // how often a reply that came before its turn was drawn looks for it

    function updated(object, changes) {
        return Object.assign({}, object, changes);
    }

    function setProps(id, props) {
        return {kind: 'setProps', id: id, props: props};
    }

    function setShown(id, props) {
        return {kind: 'setProps', id: id, props: props, ifOnPage: true};
    }

    // ------------------------------------------------------------------ requests in flight
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

    // What changes in a poller when its request failed (or was abandoned), or was answered.
    function afterFailure(poller, now, config) {
        const failures = poller.failures + 1;
        return {inFlight: null, failures: failures, retryAt: now + retryDelay(failures, config)};
    }

    function afterSuccess(poller, now) {
        return {rtt: now - poller.inFlight.at, inFlight: null, failures: 0, retryAt: 0};
    }

    function recordFailure(poller, now, config) {
        Object.assign(poller, afterFailure(poller, now, config));
    }

    function recordSuccess(poller, now) {
        Object.assign(poller, afterSuccess(poller, now));
    }

    // Which pollers find the app unreachable, once `name` does or not: the page's notice is set when that changes.
    function reachabilityStep(unreachableBy, name, unreachable, config) {
        if (unreachableBy[name] === unreachable) {
            return {unreachableBy: unreachableBy, effects: []};
        }
        const next = Object.assign({}, unreachableBy);
        next[name] = unreachable;
        const any = Object.keys(next).some(function (key) { return next[key]; });
        return {
            unreachableBy: next,
            effects: [setShown(config.ids.connection_notice, {children: any ? config.unreachable_text : ''})],
        };
    }

    // ------------------------------------------------------------------ the streaming answer
    function newPoller(key) {
        return {key: key, seq: 0, inFlight: null, failures: 0, retryAt: 0, rtt: 0, unreachable: false};
    }

    // The page's whole poll state: the answer's poller (its `answer` the answer polled), the pollers of earlier
    // answers whose end the page has still to show (`finishing`), the loading job's poller (its `ingest` the job),
    // which of them find the app unreachable, and the question kept to send when the answer ends (`kept`).
    function newState() {
        return {answer: null, finishing: [], ingest: null, unreachableBy: {}, kept: null};
    }

    // An answer as the response starting it hands it over (new_progress), polled from `now`. Later replies add
    // `version` (the last seen), `started_at` (the first applied), `activity`, `changed_at`, `stalled` (stallStep)
    // and `pending` (a reply waiting for its turn to be drawn).
    function newAnswer(progress, now, config) {
        return {
            session: progress.session,
            turn: progress.turn,
            offset: progress.offset || 0,
            text: progress.text || '',
            view: progress.view || {},
            content: Boolean(progress.content),
            polled_at: now,
            acked: 0,
            done: false,
            savedAt: 0,
            unsaved: false,
            interval: config.fast_ms,  // what the controls set when an answer starts
        };
    }

    function answerPart(config, session, part) {
        return {type: config.part_type, turn: session, part: part};
    }

    // The body of an answer poll (post adds its seq): with the version last seen, the app holds the request until
    // the answer changes, at most until the silent-model notice falls due.
    function answerRequest(answer, now, config) {
        return {session: answer.session, offset: answer.offset, view: answer.view, version: answer.version,
                hold_ms: holdFor(answer, now, config)};
    }

    // The longest hold to ask of the app: until the silent-model notice falls due, if that is sooner.
    function holdFor(state, now, config) {
        if (state.stalled || typeof state.changed_at !== 'number') {
            return config.hold_ms;
        }
        const due = state.changed_at + config.stall_ms - now;
        return Math.max(0, Math.min(config.hold_ms, Math.ceil(due)));
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

    // What a reply does to the answer: {answer, effects}. `page` is what the page showed as the reply came:
    // `textShown` (the answer's text part is drawn) and, when it is not, `turnComing` (its turn is still to be
    // drawn). The text is set at once, everything else (parts, notices, the stored turn, the controls) just
    // after, so the new text is drawn first.
    function applyAnswer(answer, reply, now, page, config) {
        if (answer.done || reply.session !== answer.session || reply.seq <= answer.acked) {
            return {answer: answer, effects: []};  // late or repeated
        }
        if (!page.textShown) {
            if (page.turnComing && now - answer.polled_at < config.mount_ms) {
                // polled from the Send response: Dash is still drawing the turn
                return {answer: updated(answer, {pending: reply}),
                        effects: [{kind: 'defer', ms: MOUNT_CHECK_MS, effects: [{kind: 'applyPending'}]}]};
            }
            // the conversation was cleared meanwhile (or the turn never came: the next tick starts again from
            // what the page holds)
            return {answer: updated(answer, {done: true}), effects: [{kind: 'drop'}]};
        }
        const next = updated(answer, {pending: null, acked: reply.seq});
        if (typeof reply.version === 'number') {
            next.version = reply.version;
        }
        if (next.started_at === undefined) {
            next.started_at = now;
        }
        const text = textStep(next, reply, config);
        Object.assign(next, text.changes);
        const parts = reply.parts || {};
        if (reply.view) {
            next.view = reply.view;
        }
        if (reply.content) {
            next.content = true;
        }
        const notice = noticeStep(next, reply, parts, now, config);
        Object.assign(next, notice.changes);
        const save = saveStep(next, reply, now, config);
        Object.assign(next, save.changes);
        const end = reply.done ? finishStep(reply, config) : paceStep(next, reply, now, config);
        Object.assign(next, end.changes);
        const later = end.first.concat(partEffects(next.session, parts, config), notice.effects, save.effects,
                                       end.effects);
        const deferred = later.length ? [{kind: 'defer', ms: 0, effects: later}] : [];
        return {answer: next, effects: text.effects.concat(deferred)};
    }

    // The text shown (set at once when it changed; it is then to be saved).
    function textStep(answer, reply, config) {
        const shown = applyText(answer.text, answer.offset, reply);
        if (shown.text === answer.text) {
            return {changes: shown, effects: []};
        }
        return {changes: updated(shown, {unsaved: true}),
                effects: [setShown(answerPart(config, answer.session, TEXT_PART), {children: shown.text})]};
    }

    // The parts the app drew (sources, a computed result, a status line, the finished block), each set once.
    function partEffects(session, parts, config) {
        return Object.keys(parts).map(function (name) {
            return setShown(answerPart(config, session, name), parts[name]);
        });
    }

    // The silent-model notice, shown or hidden when that changes (unless the app sets the notice itself).
    function noticeStep(answer, reply, parts, now, config) {
        const stall = stallStep(answer, reply, now, config);
        const effects = [];
        if (stall.stalled !== Boolean(answer.stalled) && !parts[NOTICE_PART]) {
            const notice = stall.stalled ? {children: config.stall_text, hidden: false} : {children: '', hidden: true};
            effects.push(setShown(answerPart(config, answer.session, NOTICE_PART), notice));
        }
        return {changes: stall, effects: effects};
    }

    // The stored turn: the fields the app sent, and the text at most every save_ms (and at the end).
    function saveStep(answer, reply, now, config) {
        const fields = Object.assign({}, reply.fields || {});
        const changes = {};
        if (answer.unsaved && (reply.done || now - answer.savedAt >= config.save_ms)) {
            fields.answer = answer.text;
            changes.unsaved = false;
        }
        if (!Object.keys(fields).length) {
            return {changes: changes, effects: []};
        }
        changes.savedAt = now;
        const save = {kind: 'saveTurn', turn: answer.turn, session: answer.session, fields: fields};
        return {changes: changes, effects: [save]};
    }

    // The end of the answer (done, stopped, failed or lost): the controls back to Send, then a question that was
    // not answered (its file failed to load) back in the box, or else the question kept while it streamed sent.
    // All of it only while the answer is the page's current one: a newer answer has the controls once it started.
    function finishStep(reply, config) {
        const effects = [setProps(config.ids.active, {data: false})].concat(
            streamingControls(false, config),
            [setProps(config.ids.chat_notice, {children: ''})],
            reply.resend ? [setProps(config.ids.chat_input, {value: reply.resend})] : [{kind: 'sendKept'}]
        );
        return {changes: {done: true}, first: [], effects: [{kind: 'ifCurrent', effects: effects}]};
    }

    // How often the answer is polled: fast until there is something to show (asking again as each reply returns,
    // before anything else: the app holds a request naming a version until news), then every slow_ms.
    function paceStep(answer, reply, now, config) {
        const fast = !answer.content && now - answer.started_at < config.fast_for_ms;
        const first = fast && typeof reply.version === 'number' ? [{kind: 'pollAgain'}] : [];
        const interval = fast ? config.fast_ms : config.slow_ms;
        if (answer.interval === interval) {
            return {changes: {}, first: first, effects: []};
        }
        return {changes: {interval: interval}, first: first,
                effects: [{kind: 'ifCurrent', effects: [setProps(config.ids.interval, {interval: interval})]}]};
    }

    // The controls follow whether an answer streams: Send off, Stop on, the interval ticking (fast at first).
    function streamingControls(active, config) {
        return [
            setProps(config.ids.send, {disabled: active}),
            setProps(config.ids.stop, {disabled: !active}),
            setProps(config.ids.interval, active ? {disabled: false, interval: config.fast_ms} : {disabled: true}),
        ];
    }

    // ------------------------------------------------------------------ a question sent while an answer streams
    // What a callback response does to the question kept to send when the answer ends: {kept, send}. `seen` is what
    // the response says: `active` (a boolean: the app started or ended an answer, so nothing is kept any more) or
    // `refused` (the answer the app refused the question for, because it really streams); `current` is the page's
    // answer ({session, done}) as the response comes. A question refused for an answer the page has seen end
    // meanwhile is sent at once; otherwise it is kept for that answer's end (keptAtEnd).
    function keptStep(kept, seen, current) {
        if (typeof seen.active === 'boolean') {
            return {kept: null, send: false};
        }
        if (!seen.refused) {
            return {kept: kept, send: false};
        }
        if (current && current.session === seen.refused && current.done) {
            return {kept: null, send: true};
        }
        return {kept: {session: seen.refused}, send: false};
    }

    // The kept question as the page's answer `session` ends: sent if it was kept for that answer.
    function keptAtEnd(kept, session) {
        const due = Boolean(kept && kept.session === session);
        return {kept: due ? null : kept, send: due};
    }

    // ------------------------------------------------------------------ loading a dataset
    // A loading job being polled; once its new data is published (answers questions while it is indexed), also
    // `published` (its dataset id) and `before` (the data the page held before).
    function newIngest(job) {
        return {job: job, finished: false};
    }

    // What a loading-progress report does to the job: {ingest, effects}. `page.storedData` is the data the page
    // holds as the report comes (what a failed load goes back to, once its new data was published).
    function applyIngest(ingest, report, page, config) {
        if (ingest.finished || report.job !== ingest.job) {
            return {ingest: ingest, effects: []};
        }
        const effects = [setProps(config.ids.ingest_progress, {children: report.progress, hidden: report.hidden})];
        if (!report.finished) {
            if (report.stored_data && !ingest.published) {  // the new data answers questions while it is indexed
                effects.push(setProps(config.ids.stored_data, {data: report.stored_data}));
                return {ingest: updated(ingest, {published: report.stored_data.dataset_id, before: page.storedData}),
                        effects: effects};
            }
            return {ingest: ingest, effects: effects};
        }
        effects.push(setProps(config.ids.ingest_interval, {disabled: true}));
        effects.push(setProps(config.ids.data_message, {children: report.message}));
        if (report.stored_data && report.stored_data.dataset_id !== ingest.published) {
            effects.push(setProps(config.ids.stored_data, {data: report.stored_data}));
        } else if (!report.stored_data && ingest.published) {  // failed or cancelled: back to the data before
            effects.push(setProps(config.ids.stored_data, {data: ingest.before}));
        }
        return {ingest: updated(ingest, {finished: true}), effects: effects};
    }

    const logic = {
        REPLY_KEYS: REPLY_KEYS,
        REQUEST_KEYS: REQUEST_KEYS,
        PROGRESS_KEYS: PROGRESS_KEYS,
        MOUNT_CHECK_MS: MOUNT_CHECK_MS,
        timeoutFor: timeoutFor,
        retryDelay: retryDelay,
        tickAction: tickAction,
        isUnreachable: isUnreachable,
        afterFailure: afterFailure,
        afterSuccess: afterSuccess,
        recordFailure: recordFailure,
        recordSuccess: recordSuccess,
        reachabilityStep: reachabilityStep,
        newPoller: newPoller,
        newState: newState,
        newAnswer: newAnswer,
        answerPart: answerPart,
        answerRequest: answerRequest,
        holdFor: holdFor,
        applyText: applyText,
        stallStep: stallStep,
        applyAnswer: applyAnswer,
        streamingControls: streamingControls,
        keptStep: keptStep,
        keptAtEnd: keptAtEnd,
        newIngest: newIngest,
        applyIngest: applyIngest,
    };

    if (typeof module !== 'undefined' && module.exports) {
        module.exports = logic;  // Node (the unit tests): the pure logic alone
    }
    if (typeof window === 'undefined') {
        return;
    }

    // ------------------------------------------------------------------ the adapter: the page and the app
    // Apply effects in order; `context` ({state, poller, config}) is what answer effects act on.
    function runEffects(effects, context) {
        effects.forEach(function (effect) {
            if (effect.kind === 'setProps') {
                if (!effect.ifOnPage || onPage(effect.id)) {
                    window.dash_clientside.set_props(effect.id, effect.props);
                }
            } else if (effect.kind === 'saveTurn') {
                saveTurn(context.config, effect);
            } else if (effect.kind === 'defer') {
                window.setTimeout(function () { runEffects(effect.effects, context); }, effect.ms);
            } else if (effect.kind === 'pollAgain') {
                if (polled(context.state, context.poller) && !context.poller.answer.done) {
                    pollAnswer(context.state, context.poller, context.config);
                }
            } else if (effect.kind === 'applyPending') {
                applyPending(context.state, context.poller, context.config);
            } else if (effect.kind === 'drop') {
                stopPolling(context.state, context.poller);
            } else if (effect.kind === 'ifCurrent') {
                if (context.poller && context.state.answer === context.poller) {
                    runEffects(effect.effects, context);
                }
            } else if (effect.kind === 'sendKept') {
                const step = keptAtEnd(context.state.kept, context.poller.key);
                context.state.kept = step.kept;
                if (step.send) {
                    sendKeptQuestion(context.config);
                }
            } else {
                throw new Error('polling.js: unknown effect ' + effect.kind);
            }
        });
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

    // A prop of a component as the page holds it now (null when unknown).
    function currentProp(id, name) {
        const api = window.dash_component_api;
        try {
            const layout = api && api.getLayout && api.getLayout(id);
            return layout && layout.props && layout.props[name] !== undefined ? layout.props[name] : null;
        } catch (error) {
            return null;
        }
    }

    // The data prop of a store as the page holds it now (null when unknown).
    function currentData(id) {
        return currentProp(id, 'data');
    }

    // Send the question in the box, as a click on Send does (nothing when the box has been emptied meanwhile).
    function sendKeptQuestion(config) {
        const question = currentProp(config.ids.chat_input, 'value');
        if (typeof question !== 'string' || !question.trim()) {
            return;
        }
        const clicks = currentProp(config.ids.send, 'n_clicks');
        window.dash_clientside.set_props(config.ids.send, {n_clicks: (typeof clicks === 'number' ? clicks : 0) + 1});
    }

    function showReachability(state, name, poller, now, config) {
        const step = reachabilityStep(state.unreachableBy, name, isUnreachable(poller, now, config), config);
        state.unreachableBy = step.unreachableBy;
        runEffects(step.effects, {state: state, config: config});
    }

    function post(state, name, poller, config, url, body, onReply) {
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
            showReachability(state, name, poller, Date.now(), config);
            onReply(reply);
        }, function () {
            if (current()) {
                recordFailure(poller, Date.now(), config);
                showReachability(state, name, poller, Date.now(), config);
            }
        });
    }

    function tick(state, name, poller, config, url, body, onReply) {
        const now = Date.now();
        const action = tickAction(poller, now, config);
        if (action === 'abandon') {
            abandon(poller);
            recordFailure(poller, now, config);
        } else if (action === 'send') {
            post(state, name, poller, config, url, body(), onReply);
        }
        showReachability(state, name, poller, now, config);
    }

    // Poll a new answer. One the page still polled (it ended in the app, which is why the new one could start, but
    // the page has not seen its end yet) is polled on until it ends, so its turn is finished too.
    function startAnswer(state, progress, config) {
        const previous = state.answer;
        const poller = newPoller(progress.session);
        poller.answer = newAnswer(progress, Date.now(), config);
        state.answer = poller;
        if (previous && !previous.answer.done) {
            state.finishing.push(previous);
            pollAnswer(state, previous, config);  // (unless its request is in flight: the reply to that one ends it)
        } else {
            abandon(previous);
        }
        return poller;
    }

    // Whether the page still polls `poller`: its current answer, or an earlier one whose end is still to be shown.
    function polled(state, poller) {
        return state.answer === poller || state.finishing.indexOf(poller) >= 0;
    }

    function stopPolling(state, poller) {
        if (state.answer === poller) {
            state.answer = null;
        }
        state.finishing = state.finishing.filter(function (other) { return other !== poller; });
    }

    function saveTurn(config, save) {
        const store = config.ids.store;
        const api = window.dash_component_api;
        let turns = null;
        try {
            turns = api.getLayout(store).props.data;
        } catch (error) {
            return;
        }
        const stored = Array.isArray(turns) ? turns[save.turn] : null;
        if (!stored || stored.id !== save.session) {
            return;  // the conversation was cleared meanwhile
        }
        const patch = new window.dash_clientside.Patch();
        Object.keys(save.fields).forEach(function (key) {
            patch.assign([save.turn, key], save.fields[key]);
        });
        window.dash_clientside.set_props(store, {data: patch.build()});
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

    function receiveAnswer(state, poller, reply, config) {
        const answer = poller.answer;
        const now = Date.now();
        const finishing = state.finishing.indexOf(poller) >= 0;
        const page = {textShown: onPage(answerPart(config, answer.session, TEXT_PART))};
        if (!page.textShown) {
            page.turnComing = !finishing && turnComing(answer, config);  // an earlier answer's turn was drawn long ago
        }
        const step = applyAnswer(answer, reply, now, page, config);
        poller.answer = step.answer;
        runEffects(step.effects, {state: state, poller: poller, config: config});
        if (finishing && poller.answer.done) {
            stopPolling(state, poller);
        } else if (finishing && polled(state, poller)) {
            pollAnswer(state, poller, config);  // the app has ended it: the next reply is its end
        }
    }

    function applyPending(state, poller, config) {
        const reply = poller.answer.pending;
        if (reply && polled(state, poller)) {
            poller.answer = updated(poller.answer, {pending: null});
            receiveAnswer(state, poller, reply, config);
        }
    }

    // Poll the answer now, unless a request for it is in flight (or waits to be retried).
    function pollAnswer(state, poller, config) {
        if (poller.answer.pending) {
            return;  // a reply waits for its turn to be drawn
        }
        tick(state, 'answer', poller, config, config.answer_url, function () {
            return answerRequest(poller.answer, Date.now(), config);
        }, function (reply) {
            receiveAnswer(state, poller, reply, config);
        });
    }

    // Interval tick: poll the answer (a new answer is polled at once by onCallbackResponse), and the earlier ones
    // whose end is still to be shown.
    function answerTick(state, progress, active, config) {
        if (!config) {
            return;
        }
        state.finishing.slice().forEach(function (poller) {
            if (!poller.answer.done) {
                pollAnswer(state, poller, config);
            }
        });
        if (!progress || !progress.session || !active) {
            return;
        }
        let poller = state.answer;
        if (!poller || poller.key !== progress.session) {
            poller = startAnswer(state, progress, config);
        }
        if (!poller.answer.done) {
            pollAnswer(state, poller, config);
        }
    }

    // A callback response that starts or ends streaming (Send, Clear, a reload resuming an answer), seen by the
    // renderer's request_post hook before Dash applies it: the controls are set, and a new answer is polled at
    // once, while Dash still draws its turn (a clientside callback on the new session would come a whole update
    // later, and each callback run costs the page time for every component on it).
    //
    // A Send response that names the streaming session without starting an answer is the app refusing the question
    // while that answer really streams: the question is kept, and sent when the answer ends (keptStep).
    function onCallbackResponse(state, response, ids) {
        const progress = response && response[ids.progress] && response[ids.progress].data;
        const active = response && response[ids.active] ? response[ids.active].data : undefined;
        const config = currentData(ids.config);
        if (!config) {
            return;
        }
        const named = response && response[config.ids.session] ? response[config.ids.session].data : null;
        const current = state.answer ? {session: state.answer.key, done: state.answer.answer.done} : null;
        const kept = keptStep(state.kept, {active: active, refused: named}, current);
        state.kept = kept.kept;
        if (kept.send) {  // once Dash has applied this response
            window.setTimeout(function () { sendKeptQuestion(config); }, 0);
        }
        if (typeof active !== 'boolean') {
            return;
        }
        runEffects(streamingControls(active, config), {state: state, config: config});
        if (!active || !progress || !progress.session) {
            return;
        }
        if (!state.answer || state.answer.key !== progress.session) {
            pollAnswer(state, startAnswer(state, progress, config), config);
        }
    }

    // Interval tick, or a new loading job: poll its progress (at once for a new one).
    function ingestTick(state, job, config) {
        if (!config || !job) {
            return;
        }
        let poller = state.ingest;
        if (!poller || poller.key !== job) {
            abandon(poller);
            poller = state.ingest = newPoller(job);
            poller.ingest = newIngest(job);
        }
        if (poller.ingest.finished) {
            return;
        }
        tick(state, 'ingest', poller, config, config.ingest_url, function () {
            return {job: job};
        }, function (report) {
            const step = applyIngest(poller.ingest, report, {storedData: currentData(config.ids.stored_data)}, config);
            poller.ingest = step.ingest;
            runEffects(step.effects, {state: state, config: config});
        });
    }

    const state = newState();  // the page's one poll state
    const clientside = window.dash_clientside = window.dash_clientside || {};
    clientside.polling = {
        answerTick: function (_ticks, progress, active, config) { answerTick(state, progress, active, config); },
        onCallbackResponse: function (response, ids) { onCallbackResponse(state, response, ids); },
        ingestTick: function (_ticks, job, config) { ingestTick(state, job, config); },
        logic: logic,
    };
})();
