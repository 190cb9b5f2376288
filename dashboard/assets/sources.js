// Buttons of answers drawn as static HTML (dashboard/static_html.py), which are no Dash components: a click
// anywhere on the page that lands on one is handed to the app through a store.
//  * "Show in data table" of a source: its record id, through the source-request store (ids.SOURCE_REQUEST);
//  * a rephrasing offered by a refused question: it is put in the input box and sent (the Send button's click);
//  * "Show these N records" / "Open as chart" of a computed answer: its action, spec and dataset, through the
//    spec-request store (ids.SPEC_REQUEST); the server validates the spec again (dashboard/spec_filter.py).
// The records grid keeps only the rows of the selection the server sends (ids.RECORDS_SELECTION) with an AG Grid
// external filter: ragSelection.present / ragSelection.passes, read by the grid's options (dashboard/layout.py).
(function () {
    'use strict';

    const SOURCE_STORE = 'source-request';
    const SPEC_STORE = 'spec-request';
    const GRID = 'records-table';
    const CHAT_INPUT = 'chat-input';
    const SEND_BUTTON = 'send-button';
    let selected = null;  // the record ids the grid keeps (a Set), or null: every row

    document.addEventListener('click', function (event) {
        const target = event.target;
        if (!(target instanceof Element) || !window.dash_clientside || !window.dash_clientside.set_props) {
            return;
        }
        const source = target.closest('.source-show[data-record]');
        if (source) {
            window.dash_clientside.set_props(SOURCE_STORE, {data: {record: source.getAttribute('data-record'), at: Date.now()}});
            return;
        }
        const rephrasing = target.closest('button.rephrasing[data-question]');
        if (rephrasing) {  // a question the planner reads, offered by a refusal: ask it as if typed and sent
            window.dash_clientside.set_props(CHAT_INPUT, {value: rephrasing.getAttribute('data-question')});
            const send = document.getElementById(SEND_BUTTON);
            if (send) { send.click(); }
            return;
        }
        const action = target.closest('button[data-action][data-spec]');
        if (action) {
            window.dash_clientside.set_props(SPEC_STORE, {data: {
                action: action.getAttribute('data-action'),
                spec: action.getAttribute('data-spec'),
                dataset: action.getAttribute('data-dataset') || null,
                at: Date.now(),
            }});
        }
    });

    window.dashAgGridFunctions = window.dashAgGridFunctions || {};
    window.dashAgGridFunctions.ragSelectionPresent = function () {
        return selected !== null;
    };
    window.dashAgGridFunctions.ragSelectionPasses = function (node) {
        return selected === null || (node && node.data ? selected.has(node.data.rid) : false);
    };

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.selection = {
        // The selection store changed: keep its ids (or every row) and filter the grid again.
        apply: function (selection) {
            const ids = selection && Array.isArray(selection.ids) ? selection.ids : null;
            selected = ids === null ? null : new Set(ids);
            const grid = window.dash_ag_grid;
            if (grid && grid.getApiAsync) {
                grid.getApiAsync(GRID).then(function (api) {
                    api.onFilterChanged();
                    if (selected !== null) { api.paginationGoToFirstPage(); }
                }).catch(function () { /* no grid yet: it filters when it is drawn */ });
            }
            return window.dash_clientside.no_update;
        },
        // Every record again (selection store, chip text, chip hidden); nothing to do without a selection.
        clear: function (_clear, _all, _source, _stored, current) {
            const skip = window.dash_clientside.no_update;
            return current ? [null, '', true] : [skip, skip, skip];
        },
    };
})();
