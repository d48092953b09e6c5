// TrendTactics Academy landing page: fills the course list from the API.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector(".courses");
  if (!list) { return; }
  fetch(list.getAttribute("data-src"), { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (body) {
      var courses = Array.isArray(body) ? body : (body.courses || body.items || []);
      list.textContent = "";
      courses.forEach(function (c) {
        var li = document.createElement("li");
        var h = document.createElement("strong");
        h.textContent = c.title || c.slug || "Course";
        var p = document.createElement("p");
        p.className = "muted";
        p.textContent = c.description || c.category || "";
        li.appendChild(h);
        li.appendChild(p);
        list.appendChild(li);
      });
      if (courses.length === 0) { list.innerHTML = '<li class="muted">No courses yet.</li>'; }
    })
    .catch(function () { list.innerHTML = '<li class="muted">Courses are unavailable right now.</li>'; });
});
