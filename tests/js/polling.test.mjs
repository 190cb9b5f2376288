// The page's poll logic (dashboard/assets/polling.js) without a browser or the app: each decision is a pure
// function from a state and what arrived to the next state and the effects to apply, as data. The replies here
// are shaped as dashboard/polling.py's stream_update writes them (tests/test_poll_contract.py keeps the two
// in step). The last tests run the page-side adapter in a `vm` context against a fake Dash page.
//
// Run: node --test tests/js/   (tests/test_polling_js.py runs it under pytest)
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const SCRIPT = fileURLToPath(new URL('../../dashboard/assets/polling.js', import.meta.url));
const logic = createRequire(import.meta.url)(SCRIPT);

const SESSION = 'a'.repeat(32);
const CONFIG = {  // dashboard/polling.py's poll_config(200), with short ids
    answer_url: '_poll/answer', ingest_url: '_poll/ingest', fast_ms: 50, slow_ms: 200, fast_for_ms: 5000,
    timeout_ms: 10000, retry_ms: 250, max_retry_ms: 4000, unreachable_ms: 5000, save_ms: 1000, hold_ms: 1000,
    stall_ms: 10000, mount_ms: 10000, unreachable_text: 'The app is not reachable; retrying…',
    stall_text: 'no output from the model for 10 s…', part_type: 'answer-part',
    ids: {
        store: 'store', session: 'session', active: 'active', interval: 'interval', send: 'send', stop: 'stop',
        chat_notice: 'chat-notice', chat_input: 'chat-input', connection_notice: 'connection-notice',
        ingest_progress: 'ingest-progress', ingest_interval: 'ingest-interval', data_message: 'data-message',
        stored_data: 'stored-data',
    },
};
const SHOWN = {textShown: true};

function part(name, session = SESSION) {
    return {type: 'answer-part', turn: session, part: name};
}

function shown(name, props) {
    return {kind: 'setProps', id: part(name), props: props, ifOnPage: true};
}

function set(id, props) {
    return {kind: 'setProps', id: id, props: props};
}

// Effects applied only while the answer is still the page's current one (a newer answer has the controls).
function ifCurrent(...effects) {
    return {kind: 'ifCurrent', effects};
}

// An answer just sent (polled from t=0), or resumed from `progress`.
function newAnswer(progress = {}) {
    return logic.newAnswer({turn: 0, session: SESSION, offset: 0, text: '', view: {}, content: false, ...progress},
                           0, CONFIG);
}

// A reply to a poll of a streaming answer, as stream_update writes it.
function streaming(seq, from, text, extra = {}) {
    const to = from + text.length;
    return {seq, session: SESSION, from, to, text, activity: to, content: to > 0, waiting: false,
            view: {label: 'streaming', cached: false}, parts: {}, fields: {}, done: false, version: seq, ...extra};
}

// The last reply (the whole answer, or the page's text marked interrupted when the app lost the answer).
function final(seq, text, status, extra = {}) {
    return {seq, session: SESSION, from: 0, to: text.length, text, activity: text.length, content: true,
            parts: {block: {className: `bubble assistant status-${status}`, children: 'drawn'}},
            fields: {status, error: status === 'error' ? 'The model is not reachable.' : null},
            resend: null, done: true, ...extra};
}

function interrupted(seq, offset) {
    return {seq, session: SESSION, from: offset, to: offset, text: '',
            parts: {block: {className: 'bubble assistant status-interrupted'}, status: {children: 'interrupted'},
                    notice: {children: 'restarted', hidden: false}},
            fields: {status: 'interrupted', error: null}, done: true};
}

// Apply replies in turn (at the times given): the last step, with the answer after all of them.
function run(answer, ...steps) {
    let step = {answer, effects: []};
    for (const [reply, now, page] of steps) {
        step = logic.applyAnswer(step.answer, reply, now, page || SHOWN, CONFIG);
    }
    return step;
}

function immediate(step) {
    return step.effects.filter((effect) => effect.kind !== 'defer');
}

function deferred(step) {
    const later = step.effects.filter((effect) => effect.kind === 'defer');
    assert.ok(later.length <= 1, 'one deferred batch');
    if (!later.length) {
        return [];
    }
    assert.equal(later[0].ms, 0);
    return later[0].effects;
}

// The deferred effects applied only while the answer is the page's current one.
function whileCurrent(step) {
    return deferred(step).filter((effect) => effect.kind === 'ifCurrent').flatMap((effect) => effect.effects);
}

// ------------------------------------------------------------------------------ applyAnswer, one concern each
test('a late or repeated reply changes nothing', () => {
    const first = run(newAnswer(), [streaming(2, 0, 'The '), 100]);
    for (const late of [streaming(2, 0, 'The '), streaming(1, 0, 'Th')]) {
        const again = logic.applyAnswer(first.answer, late, 200, SHOWN, CONFIG);
        assert.equal(again.answer, first.answer, `seq ${late.seq} after seq 2`);
        assert.deepEqual(again.effects, []);
    }
    const done = run(first.answer, [final(3, 'The end.', 'done'), 300]);
    const after = logic.applyAnswer(done.answer, streaming(4, 8, 'more'), 400, SHOWN, CONFIG);
    assert.equal(after.answer, done.answer, 'nothing after the end');
    assert.deepEqual(after.effects, []);
});

test('a reply for another session is ignored', () => {
    const answer = newAnswer();
    const other = logic.applyAnswer(answer, {...streaming(1, 0, 'Hi'), session: 'b'.repeat(32)}, 10, SHOWN, CONFIG);
    assert.equal(other.answer, answer);
    assert.deepEqual(other.effects, []);
});

test('a reply that comes before its turn is drawn waits for it, and the answer is dropped if it never comes', () => {
    const answer = newAnswer();
    const reply = streaming(1, 0, 'Hi');
    const waits = logic.applyAnswer(answer, reply, CONFIG.mount_ms - 1, {textShown: false, turnComing: true}, CONFIG);
    assert.equal(waits.answer.pending, reply, 'kept, not applied');
    assert.equal(waits.answer.acked, 0);
    assert.deepEqual(waits.effects, [{kind: 'defer', ms: logic.MOUNT_CHECK_MS, effects: [{kind: 'applyPending'}]}]);

    const tooLate = logic.applyAnswer(answer, reply, CONFIG.mount_ms, {textShown: false, turnComing: true}, CONFIG);
    assert.deepEqual([tooLate.answer.done, tooLate.effects], [true, [{kind: 'drop'}]]);
    const cleared = logic.applyAnswer(answer, reply, 10, {textShown: false, turnComing: false}, CONFIG);
    assert.deepEqual([cleared.answer.done, cleared.effects], [true, [{kind: 'drop'}]], 'the conversation was cleared');
    assert.equal(answer.done, false, 'the state passed in is left as it was');
});

test('a reply is acknowledged: its seq, the version it names and when the first one came are kept', () => {
    const first = run(newAnswer(), [streaming(1, 0, '', {version: 7, content: false}), 40]);
    assert.deepEqual([first.answer.acked, first.answer.version, first.answer.started_at], [1, 7, 40]);
    assert.equal(first.answer.pending, null);
    const second = run(first.answer, [streaming(2, 0, 'Hi', {version: undefined}), 90]);
    assert.deepEqual([second.answer.acked, second.answer.version, second.answer.started_at], [2, 7, 40]);
    const request = logic.answerRequest(second.answer, 100, CONFIG);
    assert.deepEqual(request, {session: SESSION, offset: 2, view: {label: 'streaming', cached: false}, version: 7,
                               hold_ms: 1000});
    assert.deepEqual(['seq', ...Object.keys(request)].sort(), [...logic.REQUEST_KEYS].sort(), 'the keys sent');
    const fresh = logic.answerRequest(newAnswer(), 0, CONFIG);
    assert.equal(JSON.stringify(fresh).includes('version'), false, 'no version before the first reply');
});

test('text is extended from where the page is, replaced by a whole answer, and set before anything else', () => {
    const first = run(newAnswer(), [streaming(1, 0, 'The ', {parts: {status: {children: 'writing…'}}}), 1000]);
    assert.deepEqual(immediate(first), [shown('text', {children: 'The '})], 'at once; the parts after');
    assert.deepEqual(deferred(first), [shown('status', {children: 'writing…'}),
                                       {kind: 'saveTurn', turn: 0, session: SESSION, fields: {answer: 'The '}},
                                       ifCurrent(set('interval', {interval: 200}))]);
    assert.deepEqual([first.answer.text, first.answer.offset], ['The ', 4]);

    const more = run(first.answer, [streaming(2, 4, 'answer'), 1100]);
    assert.deepEqual(immediate(more), [shown('text', {children: 'The answer'})]);
    assert.deepEqual([more.answer.text, more.answer.offset], ['The answer', 10]);

    const elsewhere = run(more.answer, [streaming(3, 4, 'answer'), 1200]);  // a resent request answered twice
    assert.deepEqual(immediate(elsewhere), [], 'text that does not start where the page is adds nothing');
    assert.deepEqual([elsewhere.answer.text, elsewhere.answer.offset], ['The answer', 10]);

    const whole = run(elsewhere.answer, [final(4, 'The answer.', 'done'), 1300]);
    assert.deepEqual(immediate(whole), [shown('text', {children: 'The answer.'})]);
    assert.deepEqual([whole.answer.text, whole.answer.offset], ['The answer.', 11]);

    const resumed = newAnswer({offset: 7, text: 'Héllo 😀'});  // after a reload: the text kept in the tab
    assert.deepEqual(run(resumed, [streaming(1, 7, ' wörld!'), 10]).answer.text, 'Héllo 😀 wörld!');
});

test('the parts the app drew (sources, computed, status) are set after the text, each as it is sent', () => {
    const sources = [{record_id: '$[3]', text: 'order 3'}];
    const reply = streaming(1, 0, '', {
        content: false, view: {sources: true, label: 'streaming', cached: false},
        parts: {footer: {children: 'sources'}, status: {children: 'writing…'}},
        fields: {sources, meta: {dataset_name: 'orders.json'}},
    });
    const step = run(newAnswer(), [reply, 10]);
    assert.deepEqual(immediate(step), [], 'no text yet');
    const later = deferred(step);
    assert.deepEqual(later.filter((e) => e.kind === 'setProps'),
                     [shown('footer', {children: 'sources'}), shown('status', {children: 'writing…'})]);
    assert.deepEqual(later.filter((e) => e.kind === 'saveTurn'),
                     [{kind: 'saveTurn', turn: 0, session: SESSION, fields: {sources, meta: {dataset_name: 'orders.json'}}}]);

    const computed = run(step.answer, [streaming(2, 0, '', {
        content: true, view: {sources: true, computed: true}, parts: {computed: {children: '42 orders'}},
        fields: {computed: {summary: '42 orders', value: 42}},
    }), 20]);
    assert.deepEqual(deferred(computed).filter((e) => e.kind === 'setProps' && e.ifOnPage),
                     [shown('computed', {children: '42 orders'})]);
    assert.equal(computed.answer.content, true, 'a computed result counts as something to show');
    const view = logic.answerRequest(computed.answer, 30, CONFIG).view;
    assert.deepEqual(view, {sources: true, computed: true}, 'the next request says what the page shows: not sent again');

    const again = run(computed.answer, [streaming(3, 0, '', {content: false, view: undefined}), 40]);
    assert.deepEqual(again.answer.view, view, 'a reply without a view keeps the one the page has');
    assert.equal(again.answer.content, true, 'once there is something to show, there stays something');
});

test('the stored turn gets the fields the app sends, and the text at most every save_ms and at the end', () => {
    const first = run(newAnswer(), [streaming(1, 0, 'One '), 1000]);
    assert.deepEqual(deferred(first).find((e) => e.kind === 'saveTurn').fields, {answer: 'One '},
                     'nothing saved yet: saved at once');
    assert.deepEqual([first.answer.savedAt, first.answer.unsaved], [1000, false]);

    const soon = run(first.answer, [streaming(2, 4, 'two '), 1500]);
    assert.equal(deferred(soon).find((e) => e.kind === 'saveTurn'), undefined, 'saved half a second ago');
    assert.equal(soon.answer.unsaved, true);

    const due = run(soon.answer, [streaming(3, 8, 'three '), 2000]);
    assert.deepEqual(deferred(due).find((e) => e.kind === 'saveTurn').fields, {answer: 'One two three '});

    const quick = run(due.answer, [streaming(4, 14, 'four'), 2100]);
    const end = run(quick.answer, [final(5, 'One two three four', 'done', {fields: {status: 'done', metrics: {}}}), 2200]);
    assert.deepEqual(deferred(end).find((e) => e.kind === 'saveTurn').fields,
                     {status: 'done', metrics: {}, answer: 'One two three four'}, 'the end is always saved');

    const idle = run(due.answer, [streaming(4, 14, ''), 5000]);
    assert.equal(deferred(idle).find((e) => e.kind === 'saveTurn'), undefined, 'nothing new: nothing saved');
});

for (const status of ['done', 'stopped', 'error']) {
    test(`an answer that ends ${status} sets the controls back and keeps its status`, () => {
        const partial = run(newAnswer(), [streaming(1, 0, 'The first '), 10], [streaming(2, 10, 'half'), 20]);
        const end = run(partial.answer, [final(3, 'The first half', status), 30]);
        assert.equal(end.answer.done, true);
        assert.deepEqual(immediate(end), [], 'the text shown is already the whole answer');
        assert.deepEqual(deferred(end), [
            shown('block', {className: `bubble assistant status-${status}`, children: 'drawn'}),
            {kind: 'saveTurn', turn: 0, session: SESSION, fields: {
                status, error: status === 'error' ? 'The model is not reachable.' : null, answer: 'The first half'}},
            ifCurrent(
                set('active', {data: false}),
                set('send', {disabled: false}),
                set('stop', {disabled: true}),
                set('interval', {disabled: true}),
                set('chat-notice', {children: ''}),
                {kind: 'sendKept'},
            ),
        ]);
    });
}

test('an answer the app lost keeps the text shown, marked interrupted', () => {
    const partial = run(newAnswer(), [streaming(1, 0, 'Three orders were '), 10]);
    const lost = run(partial.answer, [interrupted(2, 18), 500]);
    assert.equal(lost.answer.done, true);
    assert.equal(lost.answer.text, 'Three orders were ');
    const later = deferred(lost);
    assert.deepEqual(later.filter((e) => e.ifOnPage).map((e) => e.id.part), ['block', 'status', 'notice']);
    assert.deepEqual(later.find((e) => e.kind === 'saveTurn').fields,
                     {status: 'interrupted', error: null, answer: 'Three orders were '}, 'the text not saved yet, kept');
    assert.deepEqual(whileCurrent(lost).map((e) => e.id || e.kind),
                     ['active', 'send', 'stop', 'interval', 'chat-notice', 'sendKept']);
});

test('a question that was not answered (its file failed to load) is put back in the input box', () => {
    const end = run(newAnswer(), [final(1, '', 'error', {resend: 'How many orders?'}), 10]);
    assert.deepEqual(whileCurrent(end).at(-1), set('chat-input', {value: 'How many orders?'}));
    assert.equal(whileCurrent(end).some((e) => e.kind === 'sendKept'), false, 'that question, not a kept one');
    const answered = run(newAnswer(), [final(1, 'Four.', 'done'), 10]);
    assert.equal(whileCurrent(answered).some((e) => e.id === 'chat-input'), false);
});

test('the silent-model notice shows stall_ms after the last new text, once, and goes when text comes again', () => {
    const notice = (step) => deferred(step).filter((e) => e.ifOnPage && e.id.part === 'notice');
    const first = run(newAnswer(), [streaming(1, 0, 'Count'), 1000]);
    assert.deepEqual([first.answer.changed_at, first.answer.stalled], [1000, false]);
    assert.equal(logic.answerRequest(first.answer, 9400, CONFIG).hold_ms, 1000);
    assert.equal(logic.answerRequest(first.answer, 10400, CONFIG).hold_ms, 600, 'held no later than the notice');

    const quiet = run(first.answer, [streaming(2, 5, ''), 10999]);
    assert.deepEqual(notice(quiet), []);
    const silent = run(quiet.answer, [streaming(3, 5, ''), 11000]);
    assert.deepEqual(notice(silent), [shown('notice', {children: CONFIG.stall_text, hidden: false})]);
    assert.equal(logic.answerRequest(silent.answer, 11000, CONFIG).hold_ms, 1000, 'once shown, a whole hold');
    const still = run(silent.answer, [streaming(4, 5, ''), 12000]);
    assert.deepEqual(notice(still), [], 'shown once');
    const resumed = run(still.answer, [streaming(5, 5, 'ing'), 13000]);
    assert.deepEqual(notice(resumed), [shown('notice', {children: '', hidden: true})]);
    assert.deepEqual([resumed.answer.changed_at, resumed.answer.stalled], [13000, false]);

    const thinking = run(quiet.answer, [streaming(3, 5, '', {activity: 40}), 11000]);
    assert.deepEqual(notice(thinking), [], 'reasoning counts as activity');
    const ends = run(quiet.answer, [final(3, 'Count', 'done'), 20000]);
    assert.deepEqual([notice(ends), ends.answer.stalled], [[], false], 'an answer that ends is not silent');
});

test('a question waiting for its file is never called stalled, and a notice the app sets wins', () => {
    const waiting = {waiting: true, parts: {notice: {children: 'Waiting for cars.json…', hidden: false}}};
    let step = run(newAnswer(), [streaming(1, 0, '', {content: false, ...waiting}), 1000]);
    step = run(step.answer, [streaming(2, 0, '', {content: false, waiting: true}), 30000]);
    assert.equal(step.answer.stalled, false);
    assert.equal(step.answer.changed_at, 30000, 'the wait restarts the clock');

    const silent = run(newAnswer(), [streaming(1, 0, 'Count'), 1000]);
    const both = run(silent.answer, [streaming(2, 5, '', {parts: {notice: {children: 'from the app', hidden: false}}}),
                                     11000]);
    assert.equal(both.answer.stalled, true);
    assert.deepEqual(deferred(both).filter((e) => e.ifOnPage && e.id.part === 'notice'),
                     [shown('notice', {children: 'from the app', hidden: false})], 'only the app\'s notice');
});

test('the answer is polled fast (asking again as each reply returns) until there is something to show', () => {
    const empty = run(newAnswer(), [streaming(1, 0, '', {content: false, version: 3}), 100]);
    assert.deepEqual(deferred(empty)[0], {kind: 'pollAgain'}, 'asked again first, before anything else');
    assert.equal(whileCurrent(empty).some((e) => e.id === 'interval'), false, 'the interval stays fast');

    const noVersion = run(newAnswer(), [streaming(1, 0, '', {content: false, version: undefined}), 100]);
    assert.equal(deferred(noVersion).some((e) => e.kind === 'pollAgain'), false, 'a request not held: no rush');

    const text = run(empty.answer, [streaming(2, 0, 'Hi', {version: 4}), 200]);
    assert.equal(deferred(text).some((e) => e.kind === 'pollAgain'), false);
    assert.deepEqual(deferred(text).filter((e) => e.kind === 'ifCurrent'), [ifCurrent(set('interval', {interval: 200}))],
                     'the interval is the current answer\'s');
    assert.equal(text.answer.interval, 200);
    const next = run(text.answer, [streaming(3, 2, '!', {version: 5}), 300]);
    assert.equal(whileCurrent(next).some((e) => e.id === 'interval'), false, 'set once');

    const slowModel = run(empty.answer, [streaming(2, 0, '', {content: false, version: 4}), 100 + 5000]);
    assert.equal(deferred(slowModel).some((e) => e.kind === 'pollAgain'), false, 'fast for fast_for_ms at most');
    assert.deepEqual(whileCurrent(slowModel).filter((e) => e.id === 'interval'), [set('interval', {interval: 200})]);
});

// ------------------------------------------------------------------------------ requests in flight
test('one request at a time: abandoned when too slow, retried after a growing delay', () => {
    const poller = logic.newPoller('s');
    assert.equal(logic.tickAction(poller, 1000, CONFIG), 'send');
    const sent = {...poller, inFlight: {seq: 1, at: 1000}};
    assert.equal(logic.tickAction(sent, 1000 + 9999, CONFIG), 'wait');
    assert.equal(logic.isUnreachable(sent, 1000 + 5000, CONFIG), true, '5 s without an answer');
    assert.equal(logic.tickAction(sent, 1000 + 10000, CONFIG), 'abandon');
    assert.deepEqual(logic.afterFailure(sent, 11000, CONFIG), {inFlight: null, failures: 1, retryAt: 11250});
    const twice = {...sent, failures: 1};
    assert.deepEqual(logic.afterFailure(twice, 11260, CONFIG), {inFlight: null, failures: 2, retryAt: 11760});
    assert.deepEqual(logic.afterSuccess({...sent, inFlight: {seq: 3, at: 12000}}, 15000),
                     {rtt: 3000, inFlight: null, failures: 0, retryAt: 0});
    assert.equal(logic.timeoutFor({rtt: 3000}, CONFIG), 12000, '4 round trips of a slow server');
    assert.equal(logic.retryDelay(10, CONFIG), 4000);
});

test('the page says the app is not reachable while any poller finds it so, and says it once', () => {
    const id = 'connection-notice';
    const answerDown = logic.reachabilityStep({}, 'answer', true, CONFIG);
    assert.deepEqual(answerDown.effects, [{kind: 'setProps', id, props: {children: CONFIG.unreachable_text},
                                           ifOnPage: true}]);
    const ingestDown = logic.reachabilityStep(answerDown.unreachableBy, 'ingest', true, CONFIG);
    assert.deepEqual(ingestDown.effects[0].props, {children: CONFIG.unreachable_text});
    const same = logic.reachabilityStep(ingestDown.unreachableBy, 'ingest', true, CONFIG);
    assert.deepEqual(same.effects, [], 'no change: nothing set');
    const answerUp = logic.reachabilityStep(same.unreachableBy, 'answer', false, CONFIG);
    assert.deepEqual(answerUp.effects[0].props, {children: CONFIG.unreachable_text}, 'the other still fails');
    const allUp = logic.reachabilityStep(answerUp.unreachableBy, 'ingest', false, CONFIG);
    assert.deepEqual(allUp.effects[0].props, {children: ''});
});

test('the controls follow whether an answer streams', () => {
    assert.deepEqual(logic.streamingControls(true, CONFIG),
                     [set('send', {disabled: true}), set('stop', {disabled: false}),
                      set('interval', {disabled: false, interval: 50})]);
    assert.deepEqual(logic.streamingControls(false, CONFIG),
                     [set('send', {disabled: false}), set('stop', {disabled: true}), set('interval', {disabled: true})]);
});

// ------------------------------------------------------------------------------ a question sent while an answer streams
test('a question the app refused while the answer streams is kept for that answer\'s end, or sent at once', () => {
    const streamingNow = {session: SESSION, done: false};
    const refused = logic.keptStep(null, {refused: SESSION}, streamingNow);
    assert.deepEqual(refused, {kept: {session: SESSION}, send: false});
    assert.deepEqual(logic.keptAtEnd(refused.kept, SESSION), {kept: null, send: true}, 'sent as that answer ends');
    assert.deepEqual(logic.keptAtEnd(refused.kept, 'b'.repeat(32)), {kept: refused.kept, send: false},
                     'kept for its own answer');
    assert.deepEqual(logic.keptAtEnd(null, SESSION), {kept: null, send: false}, 'nothing kept: nothing sent');

    assert.deepEqual(logic.keptStep(null, {refused: SESSION}, {session: SESSION, done: true}),
                     {kept: null, send: true}, 'the page saw that answer end before the refusal came: sent at once');
    assert.deepEqual(logic.keptStep(null, {refused: SESSION}, null), {kept: {session: SESSION}, send: false},
                     'an answer the page no longer polls: kept for the end the next tick finds');

    for (const active of [true, false]) {  // the app started an answer (this question) or ended one (Clear)
        assert.deepEqual(logic.keptStep(refused.kept, {active, refused: SESSION}, streamingNow),
                         {kept: null, send: false}, `active ${active}`);
    }
    assert.deepEqual(logic.keptStep(refused.kept, {}, streamingNow), {kept: refused.kept, send: false},
                     'any other response leaves it kept');
});

// ------------------------------------------------------------------------------ loading a dataset
test('a loading job shows its progress, publishes its data once while indexing, and stops when finished', () => {
    const job = logic.newIngest('j1');
    const bar = {job: 'j1', finished: false, progress: ['bar'], hidden: false, message: null, stored_data: null};
    const running = logic.applyIngest(job, bar, {storedData: {dataset_id: 'old'}}, CONFIG);
    assert.deepEqual(running.effects, [set('ingest-progress', {children: ['bar'], hidden: false})]);
    const data = {dataset_id: 'new'};
    const published = logic.applyIngest(job, {...bar, stored_data: data}, {storedData: {dataset_id: 'old'}}, CONFIG);
    assert.deepEqual(published.effects.at(-1), set('stored-data', {data}));
    assert.deepEqual([published.ingest.published, published.ingest.before], ['new', {dataset_id: 'old'}]);
    const again = logic.applyIngest(published.ingest, {...bar, stored_data: data}, {storedData: data}, CONFIG);
    assert.equal(again.effects.length, 1, 'published once');

    const done = {...bar, finished: true, hidden: true, message: 'Loaded', stored_data: data};
    const finished = logic.applyIngest(again.ingest, done, {storedData: data}, CONFIG);
    assert.deepEqual(finished.effects.slice(1),
                     [set('ingest-interval', {disabled: true}), set('data-message', {children: 'Loaded'})]);
    assert.equal(finished.ingest.finished, true);
    assert.deepEqual(logic.applyIngest(finished.ingest, done, {storedData: data}, CONFIG).effects, [], 'finished');
    assert.deepEqual(logic.applyIngest(job, {...bar, job: 'j2'}, {storedData: null}, CONFIG).effects, [], 'another job');

    const failed = logic.applyIngest(again.ingest, {...done, message: 'Failed', stored_data: null}, {storedData: data},
                                     CONFIG);
    assert.deepEqual(failed.effects.at(-1), set('stored-data', {data: {dataset_id: 'old'}}), 'back to the data before');
    const unpublished = logic.applyIngest(job, {...done, stored_data: data}, {storedData: null}, CONFIG);
    assert.deepEqual(unpublished.effects.at(-1), set('stored-data', {data}));
});

// ------------------------------------------------------------------------------ the adapter, on a fake page
function fakePage(config = CONFIG) {
    const layout = new Map();
    const page = {
        calls: [], timers: [], requests: [], layout,
        has(id, data) { layout.set(JSON.stringify(id), {props: data === undefined ? {} : {data}}); },
        hasProps(id, props) { layout.set(JSON.stringify(id), {props}); },
        drop(id) { layout.delete(JSON.stringify(id)); },
        async settle() { for (let i = 0; i < 5; i += 1) { await new Promise((resolve) => setImmediate(resolve)); } },
        runTimers() {
            const due = page.timers.splice(0);
            due.forEach((timer) => timer.fn());
            return due.map((timer) => timer.ms);
        },
    };
    class Patch {
        constructor() { this.operations = []; }
        assign(location, value) { this.operations.push({operation: 'Assign', location, params: {value}}); }
        build() { return {__dash_patch_update: '__dash_patch_update', operations: this.operations}; }
    }
    const window = {
        dash_component_api: {getLayout: (id) => layout.get(JSON.stringify(id))},
        // what the page is given, as plain data of this realm (deepEqual compares prototypes)
        dash_clientside: {set_props: (id, props) => page.calls.push(JSON.parse(JSON.stringify([id, props]))), Patch},
        setTimeout: (fn, ms) => page.timers.push({fn, ms}),
        fetch: (url, options) => new Promise((resolve) => page.requests.push({
            url, body: JSON.parse(options.body),
            reply: (data) => resolve({ok: true, status: 200, json: () => Promise.resolve(data)}),
        })),
    };
    vm.runInNewContext(readFileSync(SCRIPT, 'utf8'), {window}, {filename: SCRIPT});
    page.polling = window.dash_clientside.polling;
    page.has('config', config);
    return page;
}

const HOOK_IDS = {progress: 'progress', active: 'active', config: 'config'};

function sendResponse(progress = {}) {
    return {progress: {data: {turn: 0, session: SESSION, offset: 0, text: '', view: {}, content: false, ...progress}},
            active: {data: true}};
}

test('in the page: the Send response starts a poll, whose reply sets the text at once and the rest just after',
     async () => {
    const page = fakePage();
    page.has('session', SESSION);
    page.has('store', [{id: SESSION, question: 'Which?'}]);
    page.has(part('text'));
    page.has(part('status'));
    page.polling.onCallbackResponse(sendResponse(), HOOK_IDS);
    assert.deepEqual(page.calls.splice(0), [['send', {disabled: true}], ['stop', {disabled: false}],
                                            ['interval', {disabled: false, interval: 50}]]);
    assert.equal(page.requests.length, 1);
    assert.equal(page.requests[0].url, '/_poll/answer');
    assert.deepEqual(page.requests[0].body, {seq: 1, session: SESSION, offset: 0, view: {}, hold_ms: 1000});

    page.requests[0].reply(streaming(1, 0, 'Hello', {parts: {status: {children: 'writing…'}}}));
    await page.settle();
    assert.deepEqual(page.calls.splice(0), [[part('text'), {children: 'Hello'}]], 'the text alone at once');
    assert.deepEqual(page.runTimers(), [0]);
    const [status, save, interval] = page.calls.splice(0);
    assert.deepEqual(status, [part('status'), {children: 'writing…'}]);
    assert.equal(save[0], 'store');
    assert.deepEqual(save[1].data.operations, [{operation: 'Assign', location: [0, 'answer'], params: {value: 'Hello'}}]);
    assert.deepEqual(interval, ['interval', {interval: 200}]);

    page.polling.answerTick(1, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 2, 'the next tick polls again');
    assert.deepEqual(page.requests[1].body, {seq: 2, session: SESSION, offset: 5, view: {label: 'streaming', cached: false},
                                             version: 1, hold_ms: 1000});
    page.polling.answerTick(2, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 2, 'one request at a time');
});

test('in the page: a reply that comes before its turn is drawn is applied once the turn is there', async () => {
    const page = fakePage();
    page.polling.onCallbackResponse(sendResponse(), HOOK_IDS);  // Dash has not applied the response yet
    page.calls.splice(0);
    page.requests[0].reply(streaming(1, 0, 'Hi', {version: undefined}));
    await page.settle();
    assert.deepEqual(page.calls, []);
    assert.deepEqual(page.runTimers(), [logic.MOUNT_CHECK_MS]);
    page.polling.answerTick(1, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 1, 'no poll while a reply waits');
    page.has('session', SESSION);
    page.has('store', [{id: SESSION}]);
    page.has(part('text'));
    assert.deepEqual(page.runTimers(), [logic.MOUNT_CHECK_MS], 'looked again');
    assert.deepEqual(page.calls.splice(0), [[part('text'), {children: 'Hi'}]]);
});

test('in the page: a cleared conversation drops the answer, and a finished one stops polling', async () => {
    const page = fakePage();
    page.has('session', SESSION);
    page.has('store', []);  // cleared: this answer's turn is not coming
    page.polling.onCallbackResponse(sendResponse(), HOOK_IDS);
    page.requests[0].reply(streaming(1, 0, 'Hi'));
    await page.settle();
    page.polling.answerTick(1, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 2, 'dropped: the next tick starts again from what the page holds');
    assert.equal(page.requests[1].body.seq, 1, 'with a new poller');

    page.has('store', [{id: SESSION}]);
    page.has(part('text'));
    page.requests[1].reply(final(1, 'Hi.', 'done'));
    await page.settle();
    page.runTimers();
    page.polling.answerTick(2, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 2, 'a finished answer is not polled');
});

const OTHER = 'b'.repeat(32);

// A page showing the answer SESSION streaming (its text part drawn), polled from the Send response, with a
// request of the next tick in flight; the box holds a question, Send was clicked 3 times.
async function streamingPage() {
    const page = fakePage();
    page.has('session', SESSION);
    page.has('store', [{id: SESSION, question: 'Which?'}]);
    page.has(part('text'));
    page.hasProps('chat-input', {value: 'And the next one?'});
    page.hasProps('send', {n_clicks: 3});
    page.polling.onCallbackResponse(sendResponse(), HOOK_IDS);
    page.requests[0].reply(streaming(1, 0, 'Hello', {version: 1}));
    await page.settle();
    page.runTimers();
    page.polling.answerTick(1, sendResponse().progress.data, true, CONFIG);
    assert.equal(page.requests.length, 2, 'the next poll is in flight');
    page.calls.splice(0);
    return page;
}

function refusal() {  // the Send response refusing a question while SESSION streams: it names that answer
    return {session: {data: SESSION}, 'chat-notice': {children: 'Your question is sent as soon as ...'}};
}

test('in the page: a question refused while the answer streams is sent the moment that answer ends', async () => {
    const page = await streamingPage();
    page.polling.onCallbackResponse(refusal(), HOOK_IDS);
    assert.deepEqual(page.runTimers(), [], 'kept, not sent');
    assert.deepEqual(page.calls, []);

    page.requests[1].reply(final(2, 'Hello.', 'done'));
    await page.settle();
    page.runTimers();
    const ids = page.calls.map(([id]) => id);
    assert.deepEqual(ids.slice(-6), ['active', 'send', 'stop', 'interval', 'chat-notice', 'send']);
    assert.deepEqual(page.calls.at(-1), ['send', {n_clicks: 4}], 'sent as a click on Send, once the controls are back');
});

test('in the page: a refusal that comes after the page saw the answer end sends the question at once', async () => {
    const page = await streamingPage();
    page.requests[1].reply(final(2, 'Hello.', 'done'));
    await page.settle();
    page.runTimers();
    page.calls.splice(0);
    page.polling.onCallbackResponse(refusal(), HOOK_IDS);
    assert.deepEqual(page.calls, [], 'not while Dash applies the response');
    assert.deepEqual(page.runTimers(), [0]);
    assert.deepEqual(page.calls, [['send', {n_clicks: 4}]]);
});

test('in the page: a kept question is not sent when the box was emptied, or once a new answer started', async () => {
    const emptied = await streamingPage();
    emptied.polling.onCallbackResponse(refusal(), HOOK_IDS);
    emptied.hasProps('chat-input', {value: '  '});
    emptied.requests[1].reply(final(2, 'Hello.', 'done'));
    await emptied.settle();
    emptied.runTimers();
    assert.equal(emptied.calls.filter(([id, props]) => id === 'send' && 'n_clicks' in props).length, 0);

    const cleared = await streamingPage();
    cleared.polling.onCallbackResponse(refusal(), HOOK_IDS);
    cleared.polling.onCallbackResponse({active: {data: false}, progress: {data: null}}, HOOK_IDS);  // Clear
    cleared.requests[1].reply(final(2, 'Hello.', 'done'));
    await cleared.settle();
    cleared.runTimers();
    assert.equal(cleared.calls.filter(([id, props]) => id === 'send' && 'n_clicks' in props).length, 0);
});

test('in the page: an answer the app ended before the page saw it is polled to its end when a new one starts, '
     + 'and its end leaves the new answer\'s controls alone', async () => {
    const page = await streamingPage();
    page.has('session', OTHER);
    page.has('store', [{id: SESSION, question: 'Which?'}, {id: OTHER, question: 'And the next one?'}]);
    page.has(part('text', OTHER));
    page.has(part('block'));
    page.polling.onCallbackResponse(sendResponse({turn: 1, session: OTHER}), HOOK_IDS);
    assert.deepEqual(page.calls.splice(0), [['send', {disabled: true}], ['stop', {disabled: false}],
                                            ['interval', {disabled: false, interval: 50}]]);
    assert.deepEqual(page.requests.map((r) => r.body.session), [SESSION, SESSION, OTHER],
                     'the new answer polled at once; the request for the earlier one left in flight');

    page.requests[1].reply(final(2, 'Hello.', 'done'));
    await page.settle();
    assert.deepEqual(page.calls.splice(0), [[part('text'), {children: 'Hello.'}]]);
    page.runTimers();
    const [block, save, ...rest] = page.calls.splice(0);
    assert.deepEqual(block, [part('block'), {className: 'bubble assistant status-done', children: 'drawn'}]);
    assert.deepEqual(save[1].data.operations.map((op) => op.location), [[0, 'status'], [0, 'error'], [0, 'answer']]);
    assert.deepEqual(rest, [], 'no controls, no notice: they are the new answer\'s');

    page.polling.answerTick(1, sendResponse({turn: 1, session: OTHER}).progress.data, true, CONFIG);
    assert.deepEqual(page.requests.slice(3).map((r) => r.body.session), [], 'the earlier answer is no longer polled');
});

test('in the page: an earlier answer whose end has not come yet is polled again until it does', async () => {
    const page = await streamingPage();
    page.has('session', OTHER);
    page.has(part('text', OTHER));
    page.polling.onCallbackResponse(sendResponse({turn: 1, session: OTHER}), HOOK_IDS);
    page.requests[1].reply(streaming(2, 5, '.', {version: 2}));
    await page.settle();
    assert.equal(page.requests.length, 4);
    assert.deepEqual(page.requests[3].body, {seq: 3, session: SESSION, offset: 6, view: {label: 'streaming', cached: false},
                                             version: 2, hold_ms: 1000}, 'asked again at once: the next reply ends it');
});

