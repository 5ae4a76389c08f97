SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT ex.length 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) = ? AND (? || replace(replace((SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?), ?, ?), ?, ?) || ?) NOT LIKE ? ESCAPE '\' GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'param_1': 1, 'param_2': 0, 'param_3': 3.0, 'param_4': ' ', 'param_5': 1, 'param_6': 0, 'replace_1': '(', 'replace_2': ' ', 'replace_3': ')', 'replace_4': ' ', 'param_7': ' ', 'param_8': '% noun %'}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer."index" AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = ? AND lay.site = ? GROUP BY model.name, lay.layer ORDER BY model.name, lay.layer
-- parameters: {'model_id_1': 3, 'site_1': 'mlp'}
