// auditshot evidence console: progressive enhancements only. Served as a
// file (the Content-Security-Policy allows no inline script).
(function () {
  'use strict';

  // Before/after comparison: the "before" overlay is as wide as the slider says.
  document.querySelectorAll('[data-compare]').forEach(function (box) {
    var range = box.querySelector('input[type=range]');
    var overlay = box.querySelector('.compare-before');
    if (!range || !overlay) return;
    function update() {
      overlay.style.width = range.value + '%';
      range.setAttribute('aria-valuetext', range.value + '% before');
    }
    range.addEventListener('input', update);
    update();
  });

  // The diff image replaces the comparison while its toggle is pressed.
  document.querySelectorAll('[data-diff-toggle]').forEach(function (btn) {
    var fig = document.getElementById(btn.getAttribute('aria-controls'));
    var compare = document.getElementById('compare');
    btn.addEventListener('click', function () {
      var on = btn.getAttribute('aria-pressed') !== 'true';
      btn.setAttribute('aria-pressed', on ? 'true' : 'false');
      btn.textContent = on ? 'Hide diff' : 'Show diff';
      if (fig) fig.hidden = !on;
      if (compare) compare.hidden = on;
    });
  });

  // Chapters: clicking a step seeks the video there and plays it; the
  // current step is marked while it plays.
  document.querySelectorAll('button[data-seek]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var video = document.getElementById(btn.getAttribute('data-video'));
      if (!video) return;
      video.currentTime = parseFloat(btn.getAttribute('data-seek'));
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    });
  });
  document.querySelectorAll('video').forEach(function (video) {
    var buttons = Array.prototype.slice.call(document.querySelectorAll('button[data-video="' + video.id + '"]'));
    if (!buttons.length) return;
    video.addEventListener('timeupdate', function () {
      var current = null;
      buttons.forEach(function (b) {
        if (parseFloat(b.getAttribute('data-seek')) <= video.currentTime + 0.05) current = b;
      });
      buttons.forEach(function (b) {
        if (b === current) b.setAttribute('aria-current', 'step'); else b.removeAttribute('aria-current');
      });
    });
  });
})();
