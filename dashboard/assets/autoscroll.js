// Keep the conversation scrolled to the newest text while an answer streams in,
// unless the reader has scrolled up to read something earlier.
(function () {
    function follow(history) {
        let pinned = true;
        history.addEventListener('scroll', function () {
            pinned = history.scrollHeight - history.scrollTop - history.clientHeight < 60;
        });
        new MutationObserver(function () {
            if (pinned) { history.scrollTop = history.scrollHeight; }
        }).observe(history, {childList: true, subtree: true, characterData: true});
    }
    function waitForHistory() {
        const history = document.getElementById('chat-history');
        if (history) { follow(history); } else { window.setTimeout(waitForHistory, 200); }
    }
    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', waitForHistory);
    } else {
        waitForHistory();
    }
})();
