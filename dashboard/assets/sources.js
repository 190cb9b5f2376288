// "Show in data table" buttons of an answer's sources. Sources are drawn as static HTML
// (dashboard/static_html.py), so their buttons are no Dash components: a click anywhere on the page that
// lands on one hands its record id to the app through the source-request store (ids.SOURCE_REQUEST).
(function () {
    'use strict';

    const STORE = 'source-request';

    document.addEventListener('click', function (event) {
        const target = event.target;
        const button = target instanceof Element ? target.closest('.source-show[data-record]') : null;
        if (button && window.dash_clientside && window.dash_clientside.set_props) {
            window.dash_clientside.set_props(STORE, {data: {record: button.getAttribute('data-record'), at: Date.now()}});
        }
    });
})();
